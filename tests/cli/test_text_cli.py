"""`safeguard scan | train | eval` and `safeguard bank add-examples`, end to end.

Commands run in-process through ``safeguard.cli.main`` (the console-script entry
point, so user errors exit 2 exactly as in a shell); one test also runs the
installed ``safeguard`` script in a subprocess. ``--fast`` (lexicon only) keeps the
similarity stage out wherever it is not the point.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from safeguard.cli import main

DEMO = Path(str(resources.files("safeguard.data") / "examples" / "conversations.jsonl"))
GROOMING_DEMOS = {"demo-01", "demo-02", "demo-03", "demo-04", "demo-05"}

GROOMING_LINES = [
    "how old are you?",
    "im 13",
    "ur so mature for ur age",
    "add me on snap",
    "dont tell ur mum about me",
    "send me a pic of you",
    "r u home alone",
    "ill buy u a gift card",
    "we should meet up",
    "this is our secret",
    "delete the chat after",
    "year 8",
]
NEUTRAL_LINES = [
    "what did u have for lunch",
    "pasta lol",
    "that film was so good",
    "running late sorry",
    "see u at the match",
    "my cat knocked my tea over",
    "thanks for the help",
    "happy friday",
    "the new album is decent",
    "did u finish the book",
    "traffic is awful",
    "lets get pizza",
]


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
    """Run ``safeguard ARGS...`` in-process; returns exit code, stdout and stderr."""
    from rich.console import Console

    from safeguard.cli import text_cmds
    from safeguard.config import get_settings

    # Rich wraps long lines (paths) at the console width: make both consoles wide.
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.setattr(text_cmds, "stderr", Console(stderr=True, width=1000))
    monkeypatch.setenv("SAFEGUARD_DATA_DIR", str(tmp_path / "sg-data"))
    monkeypatch.setenv("SAFEGUARD_CONFIG", str(tmp_path / "absent.toml"))
    get_settings.cache_clear()

    def run(*args: str | Path) -> Run:
        monkeypatch.setattr(sys, "argv", ["safeguard", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main()
        out, err = capsys.readouterr()
        code = info.value.code
        return Run(0 if code is None else int(code), out, err)

    yield run
    get_settings.cache_clear()


def one_line(text: str) -> str:
    return " ".join(text.split())


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def chat(cid: str, lines: list[str], groomer: str = "adult1", child: str = "kid1") -> list[dict[str, object]]:
    return [
        {
            "conversation_id": cid,
            "message_id": f"{cid}-{i}",
            "sender_id": groomer if i % 2 == 0 else child,
            "text": text,
        }
        for i, text in enumerate(lines)
    ]


@pytest.fixture
def labelled_csv(tmp_path: Path) -> Path:
    """A small labelled CSV: grooming-tactic segments (1) and neutral chat (0)."""
    path = tmp_path / "train.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row_id", "chat", "is_grooming"])
        for i in range(12):
            rot = i % len(GROOMING_LINES)
            pos = GROOMING_LINES[rot:] + GROOMING_LINES[:rot]
            writer.writerow([f"p{i}", "\n".join(pos[:5] + NEUTRAL_LINES[i : i + 2]), 1])
            writer.writerow([f"n{i}", "\n".join((NEUTRAL_LINES[i:] + NEUTRAL_LINES[:i])[:6]), 0])
    return path


# -- scan ---------------------------------------------------------------------


def test_scan_json_gives_one_object_per_conversation(cli: CliRun) -> None:
    run = cli("scan", DEMO, "--json", "--fast")
    assert run.code == 0, run.err
    results = run.json_lines()
    assert [r["id"] for r in results] == [f"demo-{i:02d}" for i in range(1, 13)]
    for r in results:
        assert {"id", "score", "flagged", "stage", "signals", "author_scores", "likely_groomer"} <= set(r)
        assert isinstance(r["score"], float) and 0.0 <= r["score"] <= 1.0
        assert isinstance(r["flagged"], bool)
        assert "first_flagged_index" not in r
        for signal in r["signals"]:
            assert {"category", "message_index", "excerpt", "weight"} <= set(signal)
            assert isinstance(signal["message_index"], int) and signal["excerpt"]
        assert r["likely_groomer"] in r["author_scores"]
    flagged = {r["id"] for r in results if r["flagged"]}
    assert flagged >= GROOMING_DEMOS
    demo01 = results[0]
    assert demo01["likely_groomer"] == "nightowl_gaz"
    assert demo01["stage"] == "meeting_compliance"


def test_scan_early_adds_first_flagged_index(cli: CliRun) -> None:
    run = cli("scan", DEMO, "--json", "--fast", "--early")
    assert run.code == 0, run.err
    for r in run.json_lines():
        assert "first_flagged_index" in r
        if r["flagged"]:
            assert isinstance(r["first_flagged_index"], int)
            assert 0 <= r["first_flagged_index"] < r["messages"]
        else:
            assert r["first_flagged_index"] is None


def test_scan_table_output(cli: CliRun) -> None:
    run = cli("scan", DEMO, "--fast", "--early", "--top", "5")
    assert run.code == 0, run.err
    assert "flagged" in run.out and "demo-01" in run.out
    assert "nightowl_gaz" in run.out


def test_scan_with_the_embedding_stage(cli: CliRun) -> None:
    run = cli("scan", DEMO, "--json")
    assert run.code == 0, run.err
    scores = {r["id"]: r["score"] for r in run.json_lines()}
    assert min(scores[c] for c in GROOMING_DEMOS) > max(
        s for c, s in scores.items() if c not in GROOMING_DEMOS
    )


def test_scan_threshold_option(cli: CliRun) -> None:
    run = cli("scan", DEMO, "--json", "--fast", "--threshold", "1.0")
    assert run.code == 0 and not any(r["flagged"] for r in run.json_lines())


def test_scan_csv_with_columns(cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "ref,body,y\n"
        'a1,"how old are you?\nim 13\nadd me on snap\ndont tell ur mum about me\nsend me a pic of you",1\n'
        "b2,what did u have for lunch,0\n",
        encoding="utf-8",
    )
    run = cli("scan", path, "--json", "--text-column", "body", "--id-column", "ref", "--label-column", "y")
    assert run.code == 0, run.err
    rows = {r["id"]: r for r in run.json_lines()}
    assert set(rows) == {"a1", "b2"}
    assert rows["a1"]["label"] == 1 and rows["b2"]["label"] == 0
    assert rows["a1"]["flagged"] and not rows["b2"]["flagged"]
    assert {s["category"] for s in rows["a1"]["signals"]} >= {"platform_move", "secrecy", "image_request"}
    assert "author_scores" not in rows["a1"]  # CSV rows have no speakers


def test_scan_csv_missing_column_exits_2(cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("id,message\n1,hello\n", encoding="utf-8")
    run = cli("scan", path, "--json", "--fast", "--text-column", "body")
    assert run.code == 2
    err = one_line(run.err)
    assert str(path) in err and "line 1" in err and "body" in err
    assert run.out == ""


PAN12 = """<?xml version="1.0" encoding="UTF-8"?>
<conversations>
<conversation id="conv-a">
<message line="1"><author>pred01</author><time>20:01</time><text>hey how old are you?</text></message>
<message line="2"><author>kid01</author><time>20:02</time><text>im 13</text></message>
<message line="3"><author>pred01</author><time>20:03</time><text>ur so mature for ur age</text></message>
<message line="4"><author>pred01</author><time>20:04</time>
<text>add me on snap and don&apos;t tell your mum</text></message>
<message line="5"><author>pred01</author><time>20:05</time><text>send me a pic of you</text></message>
</conversation>
<conversation id="conv-b">
<message line="1"><author>adult01</author><time>09:10</time><text>did u watch the match</text></message>
<message line="2"><author>adult02</author><time>09:11</time><text>yeah what a finish</text></message>
</conversation>
</conversations>
"""


@pytest.fixture
def pan12(tmp_path: Path) -> tuple[Path, Path]:
    xml = tmp_path / "corpus.xml"
    xml.write_text(PAN12, encoding="utf-8")
    predators = tmp_path / "predators.txt"
    predators.write_text("pred01\n", encoding="utf-8")
    return xml, predators


def test_scan_pan12_with_predators(cli: CliRun, pan12: tuple[Path, Path]) -> None:
    xml, predators = pan12
    run = cli("scan", xml, "--json", "--fast", "--predators", predators)
    assert run.code == 0, run.err
    rows = {r["id"]: r for r in run.json_lines()}
    assert rows["conv-a"]["label"] == 1 and rows["conv-b"]["label"] == 0
    assert rows["conv-a"]["flagged"] and not rows["conv-b"]["flagged"]
    assert rows["conv-a"]["likely_groomer"] == "pred01"
    assert rows["conv-a"]["messages"] == 5


def test_eval_pan12_json(cli: CliRun, pan12: tuple[Path, Path]) -> None:
    xml, predators = pan12
    run = cli("eval", xml, "--predators", predators, "--json", "--fast")
    assert run.code == 0, run.err
    metrics = json.loads(run.out)
    assert set(metrics) == {
        "examples",
        "positives",
        "threshold",
        "roc_auc",
        "pr_auc",
        "precision",
        "recall",
        "f1",
        "f05",
        "tp",
        "fp",
        "tn",
        "fn",
    }
    assert metrics["examples"] == 2 and metrics["positives"] == 1
    assert metrics["roc_auc"] == 1.0 and metrics["f1"] == 1.0
    assert (metrics["tp"], metrics["fp"], metrics["tn"], metrics["fn"]) == (1, 0, 1, 0)


def test_eval_jsonl_with_labels_file(cli: CliRun, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "conversation_id,label\n" + "".join(f"demo-{i:02d},{int(i <= 5)}\n" for i in range(1, 13)),
        encoding="utf-8",
    )
    run = cli("eval", DEMO, "--labels", labels, "--json", "--fast")
    assert run.code == 0, run.err
    metrics = json.loads(run.out)
    assert metrics["examples"] == 12 and metrics["positives"] == 5
    assert metrics["roc_auc"] == 1.0  # every grooming demo ranks above every hard negative


def test_eval_without_labels_exits_2(cli: CliRun) -> None:
    run = cli("eval", DEMO, "--fast")
    assert run.code == 2
    assert "no label" in one_line(run.err) and str(DEMO) in one_line(run.err)


def test_eval_table_output(cli: CliRun, pan12: tuple[Path, Path]) -> None:
    xml, predators = pan12
    run = cli("eval", xml, "--predators", predators, "--fast")
    assert run.code == 0, run.err
    assert "ROC-AUC" in run.out and "confusion matrix" in run.out


# -- train, then scan/eval with the model ----------------------------------------


def test_train_then_scan_and_eval_with_the_model(
    cli: CliRun, labelled_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from safeguard.text import model as model_module

    # The default grid (3 C values x 4 folds over ~1.5M hashed features) takes ~30 s; the
    # grid search itself is covered by tests/text. One C value and two folds keep this quick.
    quick = dict.fromkeys(model_module.CANDIDATES, (4.0,)) | {"svm": (0.5,)}
    monkeypatch.setattr(
        model_module, "train_model", functools.partial(model_module.train_model, c_grid=quick, folds=2)
    )
    model = tmp_path / "models" / "m.safetensors"
    run = cli(
        "train",
        labelled_csv,
        "--out",
        model,
        "--text-column",
        "chat",
        "--id-column",
        "row_id",
        "--label-column",
        "is_grooming",
    )
    assert run.code == 0, run.err
    assert model.is_file()
    assert "training on 24 examples (12 grooming, 12 not)" in one_line(run.err)
    assert "model written to" in one_line(run.err)

    scan = cli(
        "scan",
        labelled_csv,
        "--model",
        model,
        "--json",
        "--text-column",
        "chat",
        "--id-column",
        "row_id",
        "--label-column",
        "is_grooming",
    )
    assert scan.code == 0, scan.err
    rows = scan.json_lines()
    assert len(rows) == 24
    pos = [r["score"] for r in rows if r["label"] == 1]
    neg = [r["score"] for r in rows if r["label"] == 0]
    assert min(pos) > max(neg)
    assert all(r["flagged"] == (r["label"] == 1) for r in rows)

    ev = cli(
        "eval",
        labelled_csv,
        "--model",
        model,
        "--json",
        "--text-column",
        "chat",
        "--label-column",
        "is_grooming",
    )
    assert ev.code == 0, ev.err
    metrics = json.loads(ev.out)
    assert metrics["examples"] == 24 and metrics["roc_auc"] == 1.0 and metrics["f1"] == 1.0

    # The model also scores message streams (JSONL).
    jsonl = write_jsonl(tmp_path / "msgs.jsonl", chat("g", GROOMING_LINES[:6]) + chat("n", NEUTRAL_LINES[:6]))
    by_id = {r["id"]: r for r in cli("scan", jsonl, "--model", model, "--json").json_lines()}
    assert by_id["g"]["score"] > by_id["n"]["score"]


def test_train_needs_labels(cli: CliRun, tmp_path: Path) -> None:
    jsonl = write_jsonl(tmp_path / "msgs.jsonl", chat("g", GROOMING_LINES[:3]))
    run = cli("train", jsonl, "--out", tmp_path / "m.safetensors")
    assert run.code == 2
    assert "--predators" in run.err and "--labels" in run.err


def test_train_with_one_label_exits_2(cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("text,label\nhello,0\nhi,0\nhey,0\n", encoding="utf-8")
    run = cli("train", path, "--out", tmp_path / "m.safetensors")
    assert run.code == 2 and "both labels" in run.err
    assert not (tmp_path / "m.safetensors").exists()


def test_scan_with_a_garbage_model_exits_2(cli: CliRun, tmp_path: Path) -> None:
    model = tmp_path / "garbage.safetensors"
    model.write_bytes(b"definitely not a model")
    run = cli("scan", DEMO, "--model", model, "--json")
    assert run.code == 2
    assert str(model) in one_line(run.err) and "not a Safeguard model file" in one_line(run.err)


# -- bad input -------------------------------------------------------------------


def test_malformed_json_line_exits_2_with_file_and_line(cli: CliRun, tmp_path: Path) -> None:
    rows = chat("c", ["hi", "hello"])
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(rows[0]) + "\n{not json\n" + json.dumps(rows[1]) + "\n", encoding="utf-8")
    run = cli("scan", path, "--json", "--fast")
    assert run.code == 2
    err = one_line(run.err)
    assert f"{path}, line 2" in err and "not valid JSON" in err


def test_missing_field_names_the_field(cli: CliRun, tmp_path: Path) -> None:
    rows = chat("c", ["hi", "hello"])
    del rows[1]["text"]
    path = write_jsonl(tmp_path / "nofield.jsonl", rows)
    run = cli("scan", path, "--json", "--fast")
    assert run.code == 2
    assert f"{path}, line 2, field 'text'" in one_line(run.err)


def test_skip_bad_counts_and_reports(cli: CliRun, tmp_path: Path) -> None:
    rows = chat("c", GROOMING_LINES[:4])
    lines = [json.dumps(r) for r in rows]
    lines.insert(1, "{not json")
    lines.insert(3, json.dumps({"conversation_id": "c", "message_id": "x", "sender_id": "a"}))
    path = tmp_path / "some-bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = cli("scan", path, "--json", "--fast", "--skip-bad")
    assert run.code == 0, run.err
    (result,) = run.json_lines()
    assert result["messages"] == 4
    err = one_line(run.err)
    assert "skipped 2 bad record(s)" in err
    assert "line 2" in err and "line 4" in err and "field 'text'" in err


def test_skip_bad_csv(cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("text,label\nhello,0\nhi,maybe\nhey,1\n", encoding="utf-8")
    bad = cli("scan", path, "--json", "--fast", "--label-column", "label")
    assert bad.code == 2 and "line 3" in one_line(bad.err) and "label" in bad.err
    run = cli("scan", path, "--json", "--fast", "--label-column", "label", "--skip-bad")
    assert run.code == 0, run.err
    assert len(run.json_lines()) == 2 and "skipped 1 bad record(s)" in one_line(run.err)


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.csv", "empty.xml"])
def test_empty_file_is_a_clear_error(cli: CliRun, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    run = cli("scan", path, "--json", "--fast")
    assert run.code == 2
    err = one_line(run.err)
    assert str(path) in err
    assert "error:" in err and "Traceback" not in run.err


def test_empty_file_without_extension_says_empty(cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "input"
    path.write_bytes(b"")
    run = cli("scan", path, "--json", "--fast")
    assert run.code == 2 and "empty" in run.err


def test_missing_input_file(cli: CliRun, tmp_path: Path) -> None:
    run = cli("scan", tmp_path / "absent.jsonl", "--fast")
    assert run.code == 2 and "input file not found" in run.err


def test_blank_lines_only_is_no_records(cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_text("\n\n\n", encoding="utf-8")
    run = cli("scan", path, "--json", "--fast")
    assert run.code == 2 and "no records to scan" in run.err


def test_console_script_exits_2_on_bad_input(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "safeguard"
    exe = str(script) if script.exists() else shutil.which("safeguard")
    if exe is None:
        pytest.skip("safeguard console script not installed")
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n", encoding="utf-8")
    proc = subprocess.run(
        [exe, "scan", str(path), "--fast", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "1000", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"{path}, line 1" in one_line(proc.stderr) and "Traceback" not in proc.stderr


# -- bank add-examples -------------------------------------------------------------


def test_bank_add_positive_and_negative(cli: CliRun, tmp_path: Path) -> None:
    pos = tmp_path / "pos.txt"
    pos.write_text(
        "lets chat on the app ur sister hasnt got\nlets chat on the app ur sister hasnt got\n",
        encoding="utf-8",
    )
    run = cli("bank", "add-examples", "--category", "platform_move", "--positive", pos)
    assert run.code == 0, run.err
    err = one_line(run.err)
    assert "positive bank 'platform_move': 1 added, 1 already present" in err
    bank = tmp_path / "sg-data" / "example-banks" / "positive.jsonl"
    assert str(bank) in err and bank.is_file()

    neg = tmp_path / "neg.txt"
    neg.write_text("join our clan discord for the tournament brackets\n", encoding="utf-8")
    run = cli("bank", "add-examples", "-c", "benign", "--negative", neg)
    assert run.code == 0, run.err
    assert "negative bank 'benign': 1 added, 0 already present" in one_line(run.err)
    assert (tmp_path / "sg-data" / "example-banks" / "negative.jsonl").is_file()


@pytest.mark.parametrize("which", ["both", "neither"])
def test_bank_add_needs_exactly_one_source(cli: CliRun, tmp_path: Path, which: str) -> None:
    src = tmp_path / "x.txt"
    src.write_text("hello\n", encoding="utf-8")
    args = ["--positive", src, "--negative", src] if which == "both" else []
    run = cli("bank", "add-examples", "--category", "secrecy", *args)
    assert run.code == 2
    assert "exactly one of --positive FILE or --negative FILE" in one_line(run.err)
    assert not (tmp_path / "sg-data" / "example-banks").exists()


def test_bank_add_unknown_category_exits_2(cli: CliRun, tmp_path: Path) -> None:
    src = tmp_path / "x.txt"
    src.write_text("hello\n", encoding="utf-8")
    run = cli("bank", "add-examples", "--category", "nonsense", "--positive", src)
    assert run.code == 2 and "unknown category 'nonsense'" in run.err


def test_bank_add_over_long_line_exits_2_with_line(cli: CliRun, tmp_path: Path) -> None:
    src = tmp_path / "x.txt"
    src.write_text("ok\n" + "y" * 600 + "\n", encoding="utf-8")
    run = cli("bank", "add-examples", "--category", "secrecy", "--positive", src)
    assert run.code == 2 and f"{src}, line 2" in one_line(run.err)
