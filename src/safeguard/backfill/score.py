"""The per-conversation scoring both back-fill engines run: one function, two drivers.

Input rows arrive sorted by conversation, then by ``sent_at`` (missing first),
then by archive order, with each conversation's rows contiguous (the local
engine sorts the whole table; Spark repartitions by conversation and sorts
within partitions). ``score_batches`` folds each conversation through the
streaming ``ConversationState`` exactly as ``safeguard scan`` and the API do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from safeguard.ingest.records import Message
from safeguard.text import Detector, load_detector

INPUT_COLUMNS = ("conversation_id", "message_id", "sender_id", "text", "sent_at", "sender_age_band")
ORDER_COLUMN = "_order"
SORT_COLUMN = "_sent_key"
TOP_CATEGORIES = 3
OUTPUT_BATCH = 4096

AUTHOR_TYPE = pa.struct([("sender_id", pa.string()), ("score", pa.float64()), ("messages", pa.int64())])
CONVERSATION_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("score", pa.float64()),
        ("flagged", pa.bool_()),
        ("stage", pa.string()),
        ("stages", pa.list_(pa.string())),
        ("top_categories", pa.list_(pa.string())),
        ("likely_groomer", pa.string()),
        ("first_flagged_index", pa.int64()),
        ("messages", pa.int64()),
        ("signals", pa.int64()),
        ("authors", pa.list_(AUTHOR_TYPE)),
    ]
)
# The same schema in Spark's DDL (mapInArrow's return type).
CONVERSATION_DDL = (
    "conversation_id string, score double, flagged boolean, stage string, stages array<string>, "
    "top_categories array<string>, likely_groomer string, first_flagged_index bigint, messages bigint, "
    "signals bigint, authors array<struct<sender_id:string,score:double,messages:bigint>>"
)


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """How to load the detector (picklable, so Spark executors load their own, once)."""

    model_path: str | None = None
    threshold: float | None = None
    embeddings: bool = False

    def load(self) -> Detector:
        return load_detector(self.model_path, self.threshold, embeddings=self.embeddings)


def score_conversation(detector: Detector, conversation_id: str, messages: list[Message]) -> dict:
    """One output row: the conversation's risk, stage, categories and per-author risk."""
    state = detector.new_conversation(conversation_id)
    detector.add_messages([(state, m) for m in messages])
    result = detector.result(state)
    sent: dict[str, int] = {}
    for message in messages:
        sent[message.sender_id] = sent.get(message.sender_id, 0) + 1
    scores = result.author_scores
    top = sorted(result.evidence.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES]
    return {
        "conversation_id": conversation_id,
        "score": float(result.score),
        "flagged": bool(result.flagged),
        "stage": str(result.stage),
        "stages": list(result.stages),
        "top_categories": [c for c, v in top if v > 0],
        "likely_groomer": result.likely_groomer if result.flagged else None,
        "first_flagged_index": result.first_flagged_index,
        "messages": result.message_count,
        "signals": len(state.signals),
        "authors": [
            {"sender_id": s, "score": float(scores.get(s, 0.0)), "messages": n} for s, n in sent.items()
        ],
    }


def _messages(batch: pa.RecordBatch) -> Iterator[Message]:
    columns = {name: batch.column(name).to_pylist() for name in INPUT_COLUMNS}
    for i in range(batch.num_rows):
        yield Message(
            conversation_id=columns["conversation_id"][i],
            message_id=columns["message_id"][i],
            sender_id=columns["sender_id"][i],
            text=columns["text"][i] or "",
            sent_at=columns["sent_at"][i],
            sender_age_band=columns["sender_age_band"][i],
        )


def score_batches(
    batches: Iterable[pa.RecordBatch],
    spec: DetectorSpec,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Score sorted, conversation-contiguous message batches; yields conversation rows.

    ``on_progress`` is called after each input batch with the number of messages read so far.
    """
    detector = spec.load()
    rows: list[dict] = []
    current: str | None = None
    messages: list[Message] = []
    read = 0
    for batch in batches:
        for message in _messages(batch):
            if message.conversation_id != current:
                if messages:
                    rows.append(score_conversation(detector, current, messages))
                current, messages = message.conversation_id, []
            messages.append(message)
        read += batch.num_rows
        if on_progress is not None:
            on_progress(read)
        if len(rows) >= OUTPUT_BATCH:
            yield pa.RecordBatch.from_pylist(rows, schema=CONVERSATION_SCHEMA)
            rows = []
    if messages:
        rows.append(score_conversation(detector, current, messages))
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=CONVERSATION_SCHEMA)
