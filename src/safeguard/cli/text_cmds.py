"""`safeguard scan`, `train`, `eval` and `bank add-examples`: grooming detection."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli.app import app, bank_app
from safeguard.cli.progress import QuietOpt, bars_enabled, counting
from safeguard.errors import InputError

stderr = Console(stderr=True)


class Format(StrEnum):
    jsonl = "jsonl"
    pan12 = "pan12"
    csv = "csv"


FormatOpt = Annotated[
    Format | None, typer.Option("--format", "-f", help="Input format (default: from the file name).")
]
TextColumnOpt = Annotated[str, typer.Option(help="CSV: column holding the conversation text.")]
IdColumnOpt = Annotated[
    str | None, typer.Option(help="CSV: column holding the row id (default: row number).")
]
LabelColumnOpt = Annotated[
    str | None, typer.Option(help="CSV: column holding the label (1 = grooming, 0 = not).")
]
PredatorsOpt = Annotated[
    str | None, typer.Option(help="PAN12: file of predator author ids, one a line (labels).")
]
LabelsOpt = Annotated[str | None, typer.Option(help="JSONL/PAN12: CSV of conversation_id,label.")]
SkipBadOpt = Annotated[bool, typer.Option("--skip-bad", help="Skip bad records, count and report them.")]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model file from `safeguard train` (default: built-in detector)."),
]
FastOpt = Annotated[
    bool, typer.Option("--fast", help="Lexicon only: skip the tactic-similarity stage (about 20% faster).")
]
EmbeddingsOpt = Annotated[
    bool,
    typer.Option(
        "--embeddings",
        help="Also run the sentence-model (MiniLM) nearest-example stage (opt-in; ~30x slower).",
    ),
]
ThresholdOpt = Annotated[
    float | None, typer.Option(min=0.0, max=1.0, help="Flagging threshold (default: the model's).")
]


def _spec(
    input_path: str,
    fmt: Format | None,
    text_column: str,
    id_column: str | None,
    label_column: str | None,
    predators: str | None,
    labels: str | None,
    skip_bad: bool,
):
    from safeguard.text.pipeline import InputSpec, require_file

    require_file(input_path)
    for extra in (predators, labels):
        if extra is not None:
            require_file(extra)
    return InputSpec(
        path=input_path,
        fmt=fmt.value if fmt else None,
        text_column=text_column,
        id_column=id_column,
        label_column=label_column,
        predators=predators,
        labels=labels,
        skip_bad=skip_bad,
    )


def _report_skipped(spec) -> None:  # type: ignore[no-untyped-def]
    report = spec.report
    if report.skipped:
        stderr.print(f"[yellow]skipped {report.skipped} bad record(s):[/]")
        for reason in report.reasons:
            stderr.print(f"  - {reason}", highlight=False, markup=False)
        if report.skipped > len(report.reasons):
            stderr.print(f"  ... and {report.skipped - len(report.reasons)} more")


@app.command()
def scan(
    input_path: Annotated[
        str, typer.Argument(metavar="INPUT", help="JSONL messages, PAN12 XML or CSV ('-' = stdin).")
    ],
    fmt: FormatOpt = None,
    model: ModelOpt = None,
    threshold: ThresholdOpt = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per conversation on stdout.")
    ] = False,
    early: Annotated[
        bool, typer.Option("--early", help="Report the first message at which each conversation was flagged.")
    ] = False,
    text_column: TextColumnOpt = "text",
    id_column: IdColumnOpt = None,
    label_column: LabelColumnOpt = None,
    predators: PredatorsOpt = None,
    labels: LabelsOpt = None,
    skip_bad: SkipBadOpt = False,
    top: Annotated[int, typer.Option(help="Table output: how many conversations to list.")] = 25,
    fast: FastOpt = False,
    embeddings: EmbeddingsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score conversations for grooming risk, with the signals behind each score."""
    from safeguard.text import load_detector
    from safeguard.text.pipeline import scan_input

    spec = _spec(input_path, fmt, text_column, id_column, label_column, predators, labels, skip_bad)
    detector = load_detector(model, threshold, embeddings=embeddings, similarity=False if fast else None)
    results = []
    count = 0
    out = sys.stdout
    with counting("scanning", stderr, enabled=bars_enabled(stderr, quiet)) as counter:
        for result in scan_input(detector, spec, on_progress=counter):
            count += 1
            if json_out:
                out.write(json.dumps(result.to_dict(early=early), ensure_ascii=False) + "\n")
            else:
                results.append(result)
    _report_skipped(spec)
    if count == 0:
        raise InputError("no records to scan", path=input_path)
    if not json_out:
        _print_table(results, early=early, top=top, threshold=detector.threshold)


def _print_table(results, *, early: bool, top: int, threshold: float) -> None:  # type: ignore[no-untyped-def]
    console = Console(width=None if Console().is_terminal else 160)
    results.sort(key=lambda r: -r.score)
    flagged = sum(r.flagged for r in results)
    table = Table(title=f"Grooming risk: {flagged} of {len(results)} flagged (threshold {threshold:.2f})")
    table.add_column("conversation", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("flag")
    table.add_column("stage")
    table.add_column("signals (category@message)", overflow="fold", ratio=1)
    table.add_column("likely groomer", overflow="fold")
    if early:
        table.add_column("first flagged at", justify="right")
    for result in results[:top]:
        seen: dict[str, list[int]] = {}
        for signal in result.signals:
            seen.setdefault(signal.category, []).append(signal.message_index)
        summary = " ".join(f"{c}@{','.join(map(str, idx[:3]))}" for c, idx in seen.items())
        row = [
            result.id,
            f"{result.score:.3f}",
            "[bold red]FLAG[/]" if result.flagged else "",
            result.stage,
            summary or "-",
            result.likely_groomer or "-",
        ]
        if early:
            row.append("-" if result.first_flagged_index is None else str(result.first_flagged_index))
        table.add_row(*row)
    console.print(table)
    for result in [r for r in results[:top] if r.flagged][:5]:
        console.print(f"\n[bold]{result.id}[/] score {result.score:.3f}, stage {result.stage}")
        for signal in sorted(result.signals, key=lambda s: -s.weight)[:6]:
            who = f" ({signal.sender_id})" if signal.sender_id else ""
            console.print(
                f"  #{signal.message_index}{who} [cyan]{signal.category}[/] "
                f"[dim]{signal.reason}[/]: {signal.excerpt!r}",
                highlight=False,
            )


@app.command()
def train(
    input_path: Annotated[
        str,
        typer.Argument(
            metavar="INPUT", help="Labelled CSV rows, or PAN12 XML with --predators, or JSONL with --labels."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the model (.safetensors).")],
    fmt: FormatOpt = None,
    text_column: TextColumnOpt = "text",
    id_column: IdColumnOpt = None,
    label_column: LabelColumnOpt = "label",
    predators: PredatorsOpt = None,
    labels: LabelsOpt = None,
    skip_bad: SkipBadOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit a grooming model on the platform's own labelled conversations."""
    from safeguard.text import load_detector
    from safeguard.text.model import train_model
    from safeguard.text.pipeline import load_training_set

    spec = _spec(input_path, fmt, text_column, id_column, label_column, predators, labels, skip_bad)
    detector = load_detector(embeddings=False)
    bars = bars_enabled(stderr, quiet)
    with counting("reading", stderr, enabled=bars) as counter:
        data = load_training_set(spec, detector, on_progress=counter)
    _report_skipped(spec)
    positives = sum(data.labels)
    say = (lambda _line: None) if quiet else stderr.print
    say(f"training on {len(data.labels)} examples ({positives} grooming, {len(data.labels) - positives} not)")
    with counting("training", stderr, enabled=bars, unit=None) as stage:

        def step(msg: str) -> None:
            stage.describe(msg)
            if not quiet:
                stage.note(f"  {msg}")

        model = train_model(data.texts, data.labels, data.lexicon, progress=step)
    model.save(out)
    info = model.metadata
    say(
        f"[green]model written to {out}[/]: {info['candidate']} (C={info['C']:g}), "
        f"threshold {model.threshold:.2f}, cross-validated F1 {info['cv_f1']:.3f}"
    )
    say(f"  chosen for the {info['why']}")


@app.command("eval")
def eval_cmd(
    input_path: Annotated[
        str,
        typer.Argument(
            metavar="INPUT", help="Labelled CSV, PAN12 XML with --predators, or JSONL with --labels."
        ),
    ],
    fmt: FormatOpt = None,
    model: ModelOpt = None,
    threshold: ThresholdOpt = None,
    text_column: TextColumnOpt = "text",
    id_column: IdColumnOpt = None,
    label_column: LabelColumnOpt = "label",
    predators: PredatorsOpt = None,
    labels: LabelsOpt = None,
    skip_bad: SkipBadOpt = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
    fast: FastOpt = False,
    embeddings: EmbeddingsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """ROC-AUC, PR-AUC, precision, recall, F1, F0.5 and the confusion matrix."""
    from safeguard.eval.metrics import compute_metrics
    from safeguard.text import load_detector
    from safeguard.text.pipeline import scan_input

    spec = _spec(input_path, fmt, text_column, id_column, label_column, predators, labels, skip_bad)
    detector = load_detector(model, threshold, embeddings=embeddings, similarity=False if fast else None)
    ys: list[int] = []
    scores: list[float] = []
    with counting("evaluating", stderr, enabled=bars_enabled(stderr, quiet)) as counter:
        for result in scan_input(detector, spec, on_progress=counter):
            if result.label is None:
                raise InputError(
                    f"{result.id!r} has no label: give --label-column, --predators or --labels",
                    path=input_path,
                )
            ys.append(result.label)
            scores.append(result.score)
    _report_skipped(spec)
    if not ys:
        raise InputError("no labelled records to evaluate", path=input_path)
    metrics = compute_metrics(ys, scores, detector.threshold)
    if json_out:
        print(json.dumps(metrics.to_dict()))
        return
    console = Console()
    table = Table(
        title=f"{len(ys)} examples, {metrics.positives} grooming; threshold {metrics.threshold:.3f}"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in ("roc_auc", "pr_auc", "precision", "recall", "f1", "f05"):
        value = getattr(metrics, name)
        table.add_row(
            name.replace("_", "-").upper() if "auc" in name else name,
            "n/a" if value is None else f"{value:.4f}",
        )
    console.print(table)
    matrix = Table(title="confusion matrix")
    matrix.add_column("")
    matrix.add_column("predicted grooming", justify="right")
    matrix.add_column("predicted not", justify="right")
    matrix.add_row("actual grooming", str(metrics.tp), str(metrics.fn))
    matrix.add_row("actual not", str(metrics.fp), str(metrics.tn))
    console.print(matrix)


@bank_app.command("add-examples")
def add_examples(
    category: Annotated[
        str, typer.Option("--category", "-c", help="Grooming category the examples belong to.")
    ],
    positive: Annotated[
        Path | None, typer.Option("--positive", help="Text file of examples of the tactic, one a line.")
    ] = None,
    negative: Annotated[
        Path | None, typer.Option("--negative", help="Text file of look-alike harmless examples, one a line.")
    ] = None,
) -> None:
    """Extend the detector's example banks (nearest-example scoring) without retraining."""
    from safeguard.text.banks import add_examples as add_to_bank

    if (positive is None) == (negative is None):
        raise InputError("give exactly one of --positive FILE or --negative FILE")
    path = positive or negative
    assert path is not None
    added, duplicates, bank_path = add_to_bank(category, path, positive=positive is not None)
    kind = "positive" if positive is not None else "negative"
    stderr.print(f"{kind} bank '{category}': {added} added, {duplicates} already present ({bank_path})")
