"""Fixtures for the media tests: conformance photos, a fresh database, a CLI runner.

Test images are the benign photos published with Meta's PDQ reference
(tests/fixtures/pdq-conformance); test videos are generated from ffmpeg's
synthetic test patterns.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parents[1] / "fixtures" / "pdq-conformance"


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The PDQ conformance folder (photos, expected.csv, needles/haystack)."""
    assert (CONFORMANCE / "expected.csv").is_file(), "tests/fixtures/pdq-conformance is missing"
    return CONFORMANCE


@pytest.fixture(scope="session")
def expected_hashes(conformance: Path) -> dict[str, str]:
    """Relative path -> expected PDQ hex, from the reference implementation."""
    with (conformance / "expected.csv").open(newline="") as handle:
        return {row["path"]: row["pdq_hex"] for row in csv.DictReader(handle)}


@pytest.fixture
def media_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database under tmp, used by the library and the CLI."""
    from safeguard.config import get_settings
    from safeguard.media.matching import clear_index_cache
    from safeguard.store.db import dispose_engines

    url = f"sqlite:///{tmp_path / 'media.db'}"
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
def any_db(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The root conftest's ``db_url`` (SQLite and PostgreSQL) as the default database."""
    from safeguard.config import get_settings
    from safeguard.media.matching import clear_index_cache

    monkeypatch.setenv("SAFEGUARD_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", db_url)
    get_settings.cache_clear()
    clear_index_cache()
    yield db_url
    clear_index_cache()
    get_settings.cache_clear()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli() -> Callable[..., CliResult]:
    """Run ``safeguard ...`` in-process as the console script does (user errors exit 2)."""
    from typer.testing import CliRunner

    from safeguard.cli import app
    from safeguard.errors import SafeguardError

    def run(*args: str, stdin: str | None = None) -> CliResult:
        result = CliRunner().invoke(app, [str(a) for a in args], input=stdin)
        if isinstance(result.exception, SafeguardError):
            return CliResult(2, result.stdout, result.stderr + f"error: {result.exception}")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synthetic test-pattern videos: a clip, a re-encode of it, and an unrelated clip."""
    from safeguard.media.video import vpdq_available

    if not vpdq_available():
        pytest.skip("vpdq is not installed (the 'video' extra; run 'make test' to build it)")
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (scripts/system-deps.sh installs it)")
    root = tmp_path_factory.mktemp("videos")
    clip, recoded, other = root / "clip.mp4", root / "recoded.mkv", root / "other.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=duration=6:size=320x240:rate=10", "-pix_fmt", "yuv420p", str(clip))
    _ffmpeg("-i", str(clip), "-vf", "scale=240:180", "-c:v", "mpeg4", "-q:v", "8", str(recoded))
    _ffmpeg(
        "-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=10", "-t", "6", "-pix_fmt", "yuv420p", str(other)
    )
    return {"clip": clip, "recoded": recoded, "other": other}
