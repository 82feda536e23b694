"""The ``on_progress(count)`` callbacks the CLI's bars are fed from, at the core level.

``text.pipeline.scan_input`` / ``load_training_set`` count records read and
``media.banks.import_file`` counts list rows read: 1, 2, 3, ... up to the input's size.
(They live here with the bars they serve; the core functions stay free of Rich.)
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from safeguard.text import load_detector
from safeguard.text.pipeline import InputSpec, load_training_set, scan_input

DEMO = Path(str(resources.files("safeguard.data") / "examples" / "conversations.jsonl"))


def _demo_messages() -> int:
    return sum(1 for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip())


def test_scan_input_reports_each_message_read() -> None:
    counts: list[int] = []
    detector = load_detector(embeddings=False, similarity=False)
    results = list(scan_input(detector, InputSpec(path=str(DEMO), fmt="jsonl"), on_progress=counts.append))
    assert len(results) == 12
    assert counts == list(range(1, _demo_messages() + 1))


def test_scan_input_counts_csv_rows_and_matches_the_uncounted_scan(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("text\n" + "".join(f"row {i}: add me on snap\n" for i in range(600)), encoding="utf-8")
    detector = load_detector(embeddings=False, similarity=False)
    counts: list[int] = []
    counted = [r.score for r in scan_input(detector, InputSpec(path=str(path)), on_progress=counts.append)]
    plain = [r.score for r in scan_input(detector, InputSpec(path=str(path)))]
    assert counts == list(range(1, 601)) and counted == plain


def test_load_training_set_reports_rows(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("text,label\n" + "".join(f"line {i},{i % 2}\n" for i in range(25)), encoding="utf-8")
    counts: list[int] = []
    data = load_training_set(
        InputSpec(path=str(path), label_column="label"),
        load_detector(embeddings=False),
        on_progress=counts.append,
    )
    assert len(data.labels) == 25 and counts == list(range(1, 26))


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A session on a fresh SQLite database."""
    from safeguard.config import get_settings
    from safeguard.store.db import dispose_engines, session_scope

    monkeypatch.setenv("SAFEGUARD_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("SAFEGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'banks.db'}")
    get_settings.cache_clear()
    dispose_engines()
    with session_scope() as s:
        yield s
    dispose_engines()
    get_settings.cache_clear()


def test_bank_import_reports_every_row_read_rejected_ones_included(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from safeguard.media.banks import import_file

    path = tmp_path / "list.csv"
    path.write_text("".join(f"{i:064x},pdq\n" for i in range(1, 31)) + "not-a-hash,pdq\n", encoding="utf-8")
    counts: list[int] = []
    report = import_file(session, "known", path, create=True, on_progress=counts.append)
    assert (report.added, report.rejected_count) == (30, 1)
    assert counts == list(range(1, 32))
    assert json.dumps(report.to_dict())  # the report is unchanged by counting
