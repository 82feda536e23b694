"""Reviewer outcomes as labelled examples that ``safeguard train`` reads.

Each decided case with signal excerpts becomes one example: the excerpts
joined as ``text``, ``label`` 1 when the reviewer confirmed it (any decision
but ``dismiss``) and 0 when they dismissed it. CSV (``id,text,label,...``) is
read by ``safeguard train FILE --id-column id``; JSONL carries the same fields.
Only excerpts already kept as evidence are exported, never whole messages.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.cases.models import CaseRow
from safeguard.cases.service import evidence_payloads, signals_of

FIELDS = ("id", "text", "label", "categories", "decision", "source")


def examples(session: Session) -> Iterator[dict]:
    """Labelled examples from decided cases, oldest first."""
    rows = session.execute(
        select(CaseRow)
        .where(CaseRow.decision.is_not(None), CaseRow.purged_at.is_(None), CaseRow.kind != "appeal")
        .order_by(CaseRow.created_at, CaseRow.id)
    ).scalars()
    for case in rows:
        first = (case.actions or [{}])[0].get("decision")
        signals = signals_of(evidence_payloads(session, case.id))
        excerpts = [str(s.get("excerpt")) for s in signals if s.get("excerpt")]
        if not excerpts or first is None:
            continue
        yield {
            "id": case.id,
            "text": " ... ".join(excerpts),
            "label": 0 if first == "dismiss" else 1,
            "categories": " ".join(sorted({str(s.get("category")) for s in signals if s.get("category")})),
            "decision": first,
            "source": case.source,
        }


def to_csv(items: list[dict]) -> str:
    """Examples as CSV with a header row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(items)
    return buffer.getvalue()


def to_jsonl(items: list[dict]) -> str:
    """Examples as JSON lines."""
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
