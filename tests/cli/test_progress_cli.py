"""Progress bars of the long commands: stderr only, transient, off with --quiet, stdout untouched.

Commands run in-process through ``safeguard.cli.main`` with stdout and stderr captured
(so neither is a terminal); ``SAFEGUARD_PROGRESS=1`` forces the bars on as a terminal
would show them, ``--quiet`` turns them and every other non-error line off.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
from rich.console import Console

from safeguard.cli import main
from safeguard.cli.progress import FORCE_ENV, bars_enabled, counting, iterate

DEMO = Path(str(resources.files("safeguard.data") / "examples" / "conversations.jsonl"))
CONFORMANCE = Path(__file__).resolve().parents[1] / "fixtures" / "pdq-conformance"
ORIG = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


CliRun = Callable[..., Run]


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Iterator[CliRun]:
    """``safeguard ARGS...`` in-process on a fresh SQLite database; exit code, stdout, stderr."""
    from safeguard.config import get_settings
    from safeguard.media.matching import clear_index_cache
    from safeguard.store.db import dispose_engines

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("SAFEGUARD_DATA_DIR", str(tmp_path / "sg-data"))
    monkeypatch.setenv("SAFEGUARD_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv(FORCE_ENV, raising=False)
    get_settings.cache_clear()
    dispose_engines()
    clear_index_cache()

    def run(*args: str | Path) -> Run:
        monkeypatch.setattr(sys, "argv", ["safeguard", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main()
        out, err = capsys.readouterr()
        code = info.value.code
        return Run(0 if code is None else int(code), out, err)

    yield run
    clear_index_cache()
    dispose_engines()
    get_settings.cache_clear()


# -- the helper ----------------------------------------------------------------


def test_bars_follow_the_terminal_the_env_var_and_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FORCE_ENV, raising=False)
    terminal = Console(file=io.StringIO(), force_terminal=True)
    pipe = Console(file=io.StringIO())
    assert bars_enabled(terminal) and not bars_enabled(pipe)
    assert not bars_enabled(terminal, quiet=True)
    monkeypatch.setenv(FORCE_ENV, "1")
    assert bars_enabled(pipe) and not bars_enabled(pipe, quiet=True)
    monkeypatch.setenv(FORCE_ENV, "0")
    assert not bars_enabled(terminal)


def test_a_streaming_bar_shows_the_count_and_is_transient() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with counting("scanning", console, enabled=True) as counter:
        for n in range(1, 1235):
            counter(n)
    drawn = buffer.getvalue()
    assert "scanning" in drawn and "1,234 records" in drawn
    assert drawn.endswith("\x1b[2K")  # transient: the bar's line is erased when the block ends
    assert counter.count == 1234


def test_a_disabled_bar_counts_and_draws_nothing() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True)
    with counting("scanning", console, enabled=False) as counter:
        counter(7)
    assert counter.count == 7 and buffer.getvalue() == ""
    items = list(iterate(range(5), "hashing", console, enabled=False, total=5))
    assert items == [0, 1, 2, 3, 4] and buffer.getvalue() == ""


def test_a_bar_with_a_total_shows_m_of_n() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    assert list(iterate("abcdefghijkl", "hashing", console, enabled=True, total=12)) == list("abcdefghijkl")
    assert "12/12" in buffer.getvalue()


# -- scan, eval, train -----------------------------------------------------------


def test_scan_json_is_unchanged_with_bars_forced_on(cli: CliRun, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = cli("scan", DEMO, "--json", "--fast")
    monkeypatch.setenv(FORCE_ENV, "1")
    barred = cli("scan", DEMO, "--json", "--fast")
    assert plain.code == barred.code == 0
    assert barred.out == plain.out
    assert [r["id"] for r in barred.json_lines()] == [f"demo-{i:02d}" for i in range(1, 13)]
    assert "scanning" in barred.err and "records" in barred.err
    assert "scanning" not in barred.out and "\x1b" not in barred.out


def test_scan_quiet_prints_nothing_on_stderr(cli: CliRun, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_ENV, "1")
    run = cli("scan", DEMO, "--json", "--fast", "--quiet")
    assert run.code == 0 and run.err == ""
    assert len(run.json_lines()) == 12


def test_eval_quiet_json(cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labels = tmp_path / "labels.csv"
    grooming = {f"demo-{i:02d}" for i in range(1, 6)}
    rows = "".join(f"demo-{i:02d},{int(f'demo-{i:02d}' in grooming)}\n" for i in range(1, 13))
    labels.write_text("conversation_id,label\n" + rows, encoding="utf-8")
    monkeypatch.setenv(FORCE_ENV, "1")
    run = cli("eval", DEMO, "--labels", labels, "--json", "--fast", "-q")
    assert run.code == 0 and run.err == ""
    assert json.loads(run.out)["positives"] == 5


GROOMING = ["how old are you?", "add me on snap", "dont tell ur mum about me", "send me a pic", "our secret"]
NEUTRAL = ["what did u have for lunch", "pasta lol", "that film was good", "see u at the match", "gg"]


@pytest.fixture
def quick_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """One C value and two folds (the full grid search is covered by tests/text)."""
    from safeguard.text import model as model_module

    quick = dict.fromkeys(model_module.CANDIDATES, (4.0,)) | {"svm": (0.5,)}
    monkeypatch.setattr(
        model_module, "train_model", functools.partial(model_module.train_model, c_grid=quick, folds=2)
    )


def _labelled(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["chat", "label"])
        for i in range(8):
            writer.writerow(["\n".join(GROOMING[i % 5 :] + GROOMING[: i % 5]), 1])
            writer.writerow(["\n".join(NEUTRAL[i % 5 :] + NEUTRAL[: i % 5]), 0])
    return path


def test_train_quiet_prints_nothing_and_writes_the_model(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_training: None
) -> None:
    data = _labelled(tmp_path / "train.csv")
    monkeypatch.setenv(FORCE_ENV, "1")
    model = tmp_path / "m.safetensors"
    run = cli("train", data, "--text-column", "chat", "--out", model, "--quiet")
    assert run.code == 0 and run.err == "" and run.out == ""
    assert model.stat().st_size > 0
    loud = cli("train", data, "--text-column", "chat", "--out", tmp_path / "m2.safetensors")
    assert loud.code == 0
    assert "training on 16 examples (8 grooming, 8 not)" in loud.err
    assert "cross-validating" in loud.err and "model written to" in loud.err


# -- bank import, hash -----------------------------------------------------------


def test_bank_import_json_with_bars_and_quiet(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = tmp_path / "list.csv"
    rows.write_text(
        f"{ORIG},pdq,test,demo-list,E1\n" + "".join(f"{i:064x},pdq\n" for i in range(1, 40)), "utf-8"
    )
    monkeypatch.setenv(FORCE_ENV, "1")
    barred = cli("bank", "import", "known", rows, "--create", "--json")
    assert barred.code == 0, barred.err
    report = barred.json_lines()
    assert len(report) == 1 and report[0]["added"] == 40 and report[0]["rejected"] == 0
    assert "importing" in barred.err and "rows" in barred.err
    again = cli("bank", "import", "known", rows, "--json", "--quiet")
    assert again.code == 0 and again.err == ""
    assert again.json_lines()[0]["duplicates"] == 40


def test_hash_json_stays_on_stdout_with_a_bar(cli: CliRun, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_ENV, "1")
    run = cli("hash", "--json", CONFORMANCE / "bridge-mods")
    assert run.code == 0, run.err
    records = run.json_lines()
    assert len(records) >= 10 and all(len(r["pdq"]) == 64 for r in records)
    assert "hashing" in run.err and "hashing" not in run.out


# -- backfill ----------------------------------------------------------------------


def _archive(path: Path, conversations: int = 6, messages: int = 5) -> Path:
    path.write_text(
        "".join(
            json.dumps(
                {
                    "conversation_id": f"c{c}",
                    "message_id": f"m{i}",
                    "sender_id": f"u{i % 2}",
                    "text": NEUTRAL[i % 5],
                }
            )
            + "\n"
            for c in range(conversations)
            for i in range(messages)
        ),
        encoding="utf-8",
    )
    return path


def test_backfill_quiet_and_forced_bar(cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_DETECTOR_EMBEDDINGS", "false")
    archive = _archive(tmp_path / "archive.jsonl")
    monkeypatch.setenv(FORCE_ENV, "1")
    quiet = cli("backfill", archive, tmp_path / "out", "--engine", "local", "--quiet")
    assert quiet.code == 0 and quiet.err == ""
    assert quiet.out.startswith("scanned 30 messages in 6 conversations")
    barred = cli("backfill", archive, tmp_path / "out2", "--engine", "local")
    assert barred.code == 0
    assert barred.out.startswith("scanned 30 messages in 6 conversations")
    assert "backfill" in barred.err and "30 messages" in barred.err
