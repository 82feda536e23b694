"""Sextortion detection on the blind set ``benchmarks/blind/sextortion`` (issue 19).

For the dev and the test split: ROC-AUC of the conversation risk, the share of sextortion
conversations flagged with the ``sextortion`` category by their first threat message (and
the first-alert index against ``first_threat_index``), and how many look-alikes are flagged.
The fast (lexicon) detector is used, as the message path runs it. Script linking (one
script sent by a ring of accounts) is measured by ``bench_linking.py`` on generated rings,
since the blind conversations were each written on their own.

Writes ``benchmarks/results/sextortion.md``. Every figure is synthetic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import blind_sets as bs  # noqa: E402
import common  # noqa: E402

RESULTS = HERE / "results" / "sextortion.md"


def replay(detector: Any, conversation: bs.Conversation) -> tuple[float, int | None]:
    """The conversation's final risk, and the first message index at which it is flagged
    with a sextortion signal (None when never)."""
    from safeguard.ingest import Message

    state = detector.new_conversation(conversation.id)
    bands = {line.sender_id: line.band for line in conversation.lines}
    alert = None
    for index, line in enumerate(conversation.lines):
        others = [b for s, b in bands.items() if s != line.sender_id]
        message = Message(
            conversation.id, line.message_id, line.sender_id, line.text, line.sent_at, line.band
        )
        assessment = state.add_message(message, recipient_age_bands=others)
        sextortion = any(str(s.category) == "sextortion" for s in assessment.signals)
        if alert is None and sextortion and assessment.flagged:
            alert = index
    return float(state.risk), alert


def evaluate(detector: Any, conversations: Sequence[bs.Conversation]) -> dict[str, Any]:
    """The figures of one split."""
    from sklearn.metrics import roc_auc_score

    labels, scores, in_time, lags, lookalike_flags = [], [], [], [], []
    for conversation in conversations:
        risk, alert = replay(detector, conversation)
        labels.append(conversation.label)
        scores.append(risk)
        if conversation.label == 1 and conversation.first_threat is not None:
            in_time.append(alert is not None and alert <= conversation.first_threat)
            if alert is not None:
                lags.append(alert - conversation.first_threat)
        if conversation.label == 0:
            lookalike_flags.append(risk >= detector.threshold)
    return {
        "conversations": len(conversations),
        "auc": float(roc_auc_score(labels, scores)),
        "by_first_threat": sum(in_time) / len(in_time) if in_time else float("nan"),
        "with_threat": len(in_time),
        "median_lag": common.median([float(x) for x in lags]) if lags else float("nan"),
        "lookalikes_flagged": sum(lookalike_flags),
        "lookalikes": len(lookalike_flags),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted for run_all; the set is small")
    parser.parse_args(argv)
    from safeguard.text import load_detector

    detector = load_detector(None, embeddings=False)
    conversations = bs.load(("sextortion",))
    rows = []
    for split in ("dev", "test"):
        r = evaluate(detector, bs.of_split(conversations, split))
        rows.append(
            [
                split,
                r["conversations"],
                common.fmt(r["auc"]),
                f"{r['by_first_threat']:.0%} of {r['with_threat']}",
                common.fmt(r["median_lag"], 1),
                f"{r['lookalikes_flagged']} of {r['lookalikes']}",
            ]
        )
    table = common.md_table(
        [
            "split",
            "conversations",
            "ROC-AUC",
            "flagged sextortion by first threat",
            "median alert index - first threat",
            "look-alikes flagged",
        ],
        rows,
    )
    text = (
        "# Sextortion (blind set, synthetic)\n\n"
        f"{common.machine_line()}\n\nFast (lexicon) detector, threshold {detector.threshold:.2f}; "
        "dev is the tuning split, test is reported once.\n\n"
        f"{table}\n\nScript linking: see `benchmarks/results/linking.md` "
        "(`bench_linking.py`, generated rings).\n"
    )
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
