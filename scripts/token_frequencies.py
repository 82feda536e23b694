"""Count WordPiece tokens in ordinary chat for the similarity stage's SIF weights.

Writes ``src/safeguard/text/data/token_frequencies.json``. The corpus is chat
without grooming labels used: the bundled synthetic evaluation set's
conversations and the blind sets' *negative* conversations (dev split only),
plus the harmless example bank. Only counts are kept, no text.

    .venv/bin/python scripts/token_frequencies.py
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from safeguard.text.banks import load_examples
from safeguard.text.normalize import normalize
from safeguard.text.similarity import FREQUENCIES, _model_dir

REPO = Path(__file__).resolve().parent.parent
BLIND = REPO / "benchmarks" / "blind"


def corpus() -> list[str]:
    texts = [json.loads(line)["text"] for line in (REPO / "benchmarks/evalset/conversations.jsonl").open()]
    for name in ("negteen", "negadult"):
        with (BLIND / name / "labels.csv").open() as handle:
            dev = {r["conversation_id"] for r in csv.DictReader(handle) if r["split"] == "dev"}
        for line in (BLIND / name / "conversations.jsonl").open():
            row = json.loads(line)
            if row["conversation_id"] in dev:
                texts.append(row["text"])
    texts += [e.text for e in load_examples() if not e.positive]
    return texts


def main() -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
    texts = [normalize(t) for t in corpus()]
    counts: Counter[int] = Counter()
    for encoding in tokenizer.encode_batch(texts, add_special_tokens=False):
        counts.update(encoding.ids)
    FREQUENCIES.write_text(
        json.dumps({"texts": len(texts), "counts": {str(k): v for k, v in sorted(counts.items())}}) + "\n",
        encoding="utf-8",
    )
    print(f"{len(texts)} texts, {len(counts)} distinct tokens -> {FREQUENCIES}")


if __name__ == "__main__":
    main()
