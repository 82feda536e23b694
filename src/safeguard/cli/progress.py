"""Progress bars of the long commands (scan, train, eval, bank import, backfill, hash, match).

Bars are Rich, transient, and drawn on stderr only: when stderr is a terminal, or
when ``SAFEGUARD_PROGRESS=1`` forces them (``0`` turns them off); ``--quiet`` turns
them off along with every other non-error line on stderr. stdout is never
redirected, so ``--json`` and CSV output stay byte-for-byte what they are without
bars. The core functions only see an ``on_progress(count)`` callback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

FORCE_ENV = "SAFEGUARD_PROGRESS"
REFRESH_SECONDS = 0.1

QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars or other non-error output on stderr.")
]

T = TypeVar("T")


def bars_enabled(console: Console, quiet: bool = False) -> bool:
    """Whether to draw bars: never when quiet, else ``SAFEGUARD_PROGRESS`` or a terminal."""
    if quiet:
        return False
    forced = os.environ.get(FORCE_ENV, "").strip().lower()
    if forced in {"1", "true", "yes", "on", "always"}:
        return True
    if forced in {"0", "false", "no", "off", "never"}:
        return False
    return console.is_terminal


def _bar_console(console: Console) -> Console:
    """``console`` itself if it is a terminal, else a forced-terminal console on the same stream."""
    if console.is_terminal:
        return console
    return Console(file=console.file, force_terminal=True, width=console.width)


class _RateColumn(ProgressColumn):
    """Items per second over the last half-minute (streaming inputs have no total)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text(f"{task.completed:,.0f} {self.unit}")
        return Text(f"{task.completed:,.0f} {self.unit}, {speed:,.0f}/s")


class Counter:
    """``on_progress(count)`` for a core function: records the count, redraws at most 10 times a second."""

    def __init__(self, console: Console, progress: Progress | None = None, task: int | None = None) -> None:
        self.console, self.progress, self.task = console, progress, task
        self.count = 0
        self._drawn = 0.0

    def __call__(self, count: int) -> None:
        self.count = count
        if self.progress is None:
            return
        now = time.monotonic()
        if now - self._drawn >= REFRESH_SECONDS:
            self._drawn = now
            self.progress.update(self.task, completed=count)  # type: ignore[arg-type]

    def advance(self, step: int = 1) -> None:
        """Count ``step`` more items."""
        self(self.count + step)

    def describe(self, label: str) -> None:
        """Change the bar's label (a new phase of the same command)."""
        if self.progress is not None:
            self.progress.update(self.task, description=label)  # type: ignore[arg-type]

    def note(self, line: str) -> None:
        """Print a line (Rich markup) above the bar, or on the console without one."""
        (self.progress.console if self.progress is not None else self.console).print(line, highlight=False)


@contextmanager
def counting(
    label: str, console: Console, *, enabled: bool, total: int | None = None, unit: str | None = "records"
) -> Iterator[Counter]:
    """A transient bar on ``console`` (stderr) while the block runs; a silent counter if not enabled.

    Without ``total``: a spinner, the count and rate (none with ``unit=None``) and the time elapsed.
    """
    if not enabled:
        yield Counter(console)
        return
    if total is None:
        columns: list[str | ProgressColumn] = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
        if unit is not None:
            columns.append(_RateColumn(unit))
        columns.append(TimeElapsedColumn())
    else:
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(unit or "items"),
            TimeRemainingColumn(),
        ]
    with Progress(*columns, console=_bar_console(console), transient=True, redirect_stdout=False) as progress:
        counter = Counter(console, progress, progress.add_task(label, total=total))
        yield counter
        progress.update(counter.task, completed=counter.count)  # type: ignore[arg-type]


def iterate(
    items: Iterable[T],
    label: str,
    console: Console,
    *,
    enabled: bool,
    total: int | None = None,
    unit: str = "files",
) -> Iterator[T]:
    """``items`` one by one, counted on a bar."""
    with counting(label, console, enabled=enabled, total=total, unit=unit) as counter:
        for item in items:
            yield item
            counter.advance()
