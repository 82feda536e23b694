"""Errors shared by every capability: each names what is wrong and where."""

from __future__ import annotations


class SafeguardError(Exception):
    """Base class for errors reported to users (CLI exit status 2, API 4xx)."""


class InputError(SafeguardError):
    """Bad input, located by file, line and field where known."""

    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        self.field = field
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class ConflictError(InputError):
    """A request that contradicts what is stored under its key (API 409)."""
