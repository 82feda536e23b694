"""Fixtures for the on-device matching tests: keys, a fresh database, banks, a CLI runner.

Images are the benign PDQ conformance photos (tests/fixtures/pdq-conformance);
bank contents are their published hashes plus random 256-bit hashes.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parents[1] / "fixtures" / "pdq-conformance"


@pytest.fixture(scope="session")
def photos() -> Path:
    """The PDQ conformance folder."""
    assert (CONFORMANCE / "expected.csv").is_file(), "tests/fixtures/pdq-conformance is missing"
    return CONFORMANCE


@pytest.fixture(scope="session")
def published(photos: Path) -> dict[str, str]:
    """Relative path -> PDQ hash published by the reference implementation."""
    with (photos / "expected.csv").open(newline="") as handle:
        return {row["path"]: row["pdq_hex"] for row in csv.DictReader(handle)}


@pytest.fixture
def private_key():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


@pytest.fixture
def client_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database under tmp, used by the library and the CLI."""
    from safeguard.config import get_settings
    from safeguard.media.matching import clear_index_cache
    from safeguard.store.db import dispose_engines

    url = f"sqlite:///{tmp_path / 'client.db'}"
    monkeypatch.setenv("SAFEGUARD_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("SAFEGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", url)
    get_settings.cache_clear()
    dispose_engines()
    clear_index_cache()
    yield url
    clear_index_cache()
    dispose_engines()
    get_settings.cache_clear()


@pytest.fixture
def add_to_bank(client_db: str) -> Callable[..., None]:
    """Add PDQ hashes to a bank (created if needed) through the bank service."""
    from safeguard.media.banks import import_rows
    from safeguard.media.importers import ImportRow
    from safeguard.store.db import session_scope

    def add(bank: str, hashes: list[str], prefix: str = "E") -> None:
        rows = [
            ImportRow(f"line {i + 1}", "pdq", h, "test", "test-list", f"{prefix}{i}")
            for i, h in enumerate(hashes)
        ]
        with session_scope() as session:
            report = import_rows(session, bank, rows, create=True)
        assert report.rejected_count == 0

    return add


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """Run ``safeguard ...`` in-process as the console script does (user errors exit 2)."""
    from typer.testing import CliRunner

    from safeguard.cli import app
    from safeguard.errors import SafeguardError

    def run(*args: object) -> CliResult:
        result = CliRunner().invoke(app, [str(a) for a in args])
        if isinstance(result.exception, SafeguardError):
            return CliResult(2, result.stdout, result.stderr + f"error: {result.exception}")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run
