"""A generated message archive for tests and benchmarks (benign text, leaflet-level tactics).

Conversations are written whole to one of ``files`` Parquet (or JSONL) files
(``conversation k -> file k mod files``): an archive partitioned by
conversation. About ``risky_share`` of conversations carry grooming tactics
at the level a safeguarding leaflet describes them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from safeguard.backfill.archive import INPUT_SCHEMA

BENIGN = (
    "hey how was your day", "did you finish the maths homework", "lol that was so funny",
    "gg that match was close", "want to play again later", "my mum says dinner is ready",
    "see you at practice tomorrow", "that film was great", "what level are you on now",
    "i got a new skin today", "brb", "ok cool", "nice one", "the bus was late again",
)
TACTICS = (
    "how old are you", "what school do you go to", "add me on snap", "lets talk on another app",
    "dont tell your mum about us", "this is our secret ok", "delete the chat after",
    "you are so mature for your age", "nobody understands you like i do",
    "i can send you a gift card", "send me a pic of you", "we should meet up some time",
    "your friends dont really care about you",
)


def generate_archive(
    path: Path,
    messages: int,
    *,
    per_conversation: int = 20,
    files: int = 8,
    risky_share: float = 0.05,
    fmt: str = "parquet",
    seed: int = 7,
) -> Path:
    """Write an archive of about ``messages`` messages under ``path``; returns ``path``."""
    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    conversations = max(1, messages // per_conversation)
    buckets: list[dict[str, list]] = [{f.name: [] for f in INPUT_SCHEMA} for _ in range(files)]
    for c in range(conversations):
        rows = buckets[c % files]
        risky = rng.random() < risky_share
        adult, child = f"u{rng.randrange(conversations // 4 + 1)}", f"k{c}"
        count = per_conversation if c < conversations - 1 else messages - per_conversation * c
        for i in range(count):
            from_adult = i % 2 == 0
            text = rng.choice(TACTICS) if risky and from_adult and rng.random() < 0.4 else rng.choice(BENIGN)
            rows["conversation_id"].append(f"c{c}")
            rows["message_id"].append(f"c{c}-{i}")
            rows["sender_id"].append(adult if from_adult else child)
            rows["text"].append(text)
            rows["sent_at"].append(f"2025-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z")
            rows["sender_age_band"].append(None if from_adult else "teen")
    for index, rows in enumerate(buckets):
        if not rows["conversation_id"]:
            continue
        if fmt == "parquet":
            pq.write_table(pa.table(rows, schema=INPUT_SCHEMA), path / f"part-{index:05d}.parquet")
        else:
            with (path / f"part-{index:05d}.jsonl").open("w", encoding="utf-8") as handle:
                for i in range(len(rows["conversation_id"])):
                    record = {name: values[i] for name, values in rows.items() if values[i] is not None}
                    handle.write(json.dumps(record) + "\n")
    return path
