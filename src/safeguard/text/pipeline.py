"""From an input file to results: the one path ``scan``, ``train``, ``eval`` and
the benchmarks share (so each input format is handled in one place)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from safeguard.errors import InputError
from safeguard.ingest import (
    detect_format,
    read_csv_records,
    read_messages,
    read_predator_ids,
)
from safeguard.ingest.records import BadInputReport, Message, TextRecord
from safeguard.text.detector import MESSAGE_BATCH, ConversationResult, Detector, split_segment
from safeguard.text.model import lexicon_features
from safeguard.text.state import ConversationState

FORMATS = ("jsonl", "pan12", "csv")
CSV_BATCH = 256


@dataclass
class InputSpec:
    """Where records come from and how to read them."""

    path: str
    fmt: str | None = None
    text_column: str = "text"
    id_column: str | None = None
    label_column: str | None = None
    predators: str | None = None  # PAN12: file of predator author ids
    labels: str | None = None  # JSONL/PAN12: CSV of conversation_id,label
    skip_bad: bool = False
    report: BadInputReport = field(default_factory=BadInputReport)

    def resolved_format(self) -> str:
        fmt = self.fmt or detect_format(self.path)
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", path=self.path)
        return fmt


def read_labels(path: str) -> dict[str, int]:
    """A ``conversation_id,label`` CSV (header required) as a dict."""
    labels: dict[str, int] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            for column in ("conversation_id", "label"):
                if column not in fields:
                    raise InputError(
                        f"missing column '{column}' (columns: {', '.join(fields) or 'none'})",
                        path=path,
                        line=1,
                        field=column,
                    )
            for row in reader:
                value = (row["label"] or "").strip()
                if value not in {"0", "1"}:
                    raise InputError(
                        f"label must be 0 or 1, got {value!r}", path=path, line=reader.line_num, field="label"
                    )
                labels[row["conversation_id"]] = int(value)
    except FileNotFoundError as exc:
        raise InputError("labels file not found", path=path) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 ({exc.reason})", path=path) from exc
    return labels


def _messages(spec: InputSpec, fmt: str) -> Iterator[Message]:
    return read_messages(spec.path, fmt, skip_bad=spec.skip_bad, report=spec.report)


def _conversation_labels(spec: InputSpec) -> Callable[[str, set[str]], int | None]:
    """How a conversation gets its label: labels file, predator list, or none."""
    if spec.labels:
        table = read_labels(spec.labels)
        return lambda cid, _authors: table.get(cid)
    if spec.predators:
        predators = read_predator_ids(spec.predators)
        return lambda _cid, authors: int(bool(authors & predators))
    return lambda _cid, _authors: None


def _counter(on_progress: Callable[[int], None] | None) -> Callable[[], None]:
    """A per-record tick that reports the running count to ``on_progress``."""
    if on_progress is None:
        return lambda: None
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        on_progress(count)

    return tick


def scan_input(
    detector: Detector, spec: InputSpec, on_progress: Callable[[int], None] | None = None
) -> Iterator[ConversationResult]:
    """Score every conversation (JSONL, PAN12) or row (CSV) of an input.

    ``on_progress`` is called with the number of records (messages, CSV rows) read so far.
    """
    fmt = spec.resolved_format()
    tick = _counter(on_progress)
    if fmt == "csv":
        batch: list[TextRecord] = []
        for record in read_csv_records(
            spec.path,
            text_column=spec.text_column,
            id_column=spec.id_column,
            label_column=spec.label_column,
            skip_bad=spec.skip_bad,
            report=spec.report,
        ):
            tick()
            batch.append(record)
            if len(batch) >= CSV_BATCH:
                yield from detector.score_records(batch)
                batch = []
        yield from detector.score_records(batch)
        return
    label_of = _conversation_labels(spec)
    states: dict[str, ConversationState] = {}
    authors: dict[str, set[str]] = {}
    pending: list[tuple[ConversationState, Message]] = []
    for message in _messages(spec, fmt):
        tick()
        state = states.get(message.conversation_id)
        if state is None:
            state = states[message.conversation_id] = detector.new_conversation(message.conversation_id)
            authors[message.conversation_id] = set()
        authors[message.conversation_id].add(message.sender_id)
        pending.append((state, message))
        if len(pending) >= MESSAGE_BATCH:
            detector.add_messages(pending)
            pending = []
    detector.add_messages(pending)
    for cid, state in states.items():
        yield detector.result(state, label=label_of(cid, authors[cid]))


@dataclass
class TrainingSet:
    """Texts with labels and the default detector's scores for each (``model.LEXICON_NAMES``)."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    lexicon: list[list[float]] = field(default_factory=list)


def load_training_set(
    spec: InputSpec, detector: Detector, on_progress: Callable[[int], None] | None = None
) -> TrainingSet:
    """Labelled texts for ``safeguard train``; unlabelled conversations are an error.

    ``on_progress`` is called with the number of records read so far.
    """
    fmt = spec.resolved_format()
    tick = _counter(on_progress)
    data = TrainingSet()
    if fmt == "csv":
        if not spec.label_column:
            raise InputError("training on CSV needs --label-column", path=spec.path)
        for record in read_csv_records(
            spec.path,
            text_column=spec.text_column,
            id_column=spec.id_column,
            label_column=spec.label_column,
            skip_bad=spec.skip_bad,
            report=spec.report,
        ):
            tick()
            if record.label is None:
                raise InputError(
                    "row has no label", path=spec.path, line=record.line, field=spec.label_column
                )
            state = detector.new_conversation(record.id)
            for index, piece in enumerate(split_segment(record.text)):
                state.add_message(Message(record.id, str(index), "", piece))
            data.ids.append(record.id)
            data.texts.append(record.text)
            data.labels.append(record.label)
            data.lexicon.append(lexicon_features(state))
        return data
    if not (spec.labels or spec.predators):
        raise InputError(
            "training on messages needs labels: --predators FILE (PAN12) or --labels FILE "
            "(CSV of conversation_id,label)",
            path=spec.path,
        )
    label_of = _conversation_labels(spec)
    states: dict[str, ConversationState] = {}
    texts: dict[str, list[str]] = {}
    authors: dict[str, set[str]] = {}
    for message in _messages(spec, fmt):
        tick()
        cid = message.conversation_id
        if cid not in states:
            states[cid] = detector.new_conversation(cid)
            texts[cid] = []
            authors[cid] = set()
        states[cid].add_message(message)
        texts[cid].append(message.text)
        authors[cid].add(message.sender_id)
    for cid, state in states.items():
        label = label_of(cid, authors[cid])
        if label is None:
            raise InputError(f"conversation {cid!r} has no label in the labels file", path=spec.path)
        data.ids.append(cid)
        data.texts.append("\n".join(texts[cid]))
        data.labels.append(label)
        data.lexicon.append(lexicon_features(state))
    return data


def require_file(path: str) -> None:
    """A clear error for a missing input (stdin '-' is allowed)."""
    if path != "-" and not Path(path).exists():
        raise InputError("input file not found", path=path)
