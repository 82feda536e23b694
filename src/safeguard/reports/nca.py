"""The UK National Crime Agency report payload (Online Safety Act s.66, SI 2025/368) as JSON.

The payload carries what the regulations ask of a CSEA report: the reporting
service, the content (excerpts and hashes, never media), the suspect and
victim accounts, when and where it happened, what the service did, and
whether there is a risk of imminent harm (meeting or coercion signals).
"""

from __future__ import annotations

from safeguard.core.clock import utcnow
from safeguard.reports.context import ReportContext
from safeguard.reports.reporter import Reporter

SCHEMA = "safeguard.nca-report/1"
URGENT = frozenset({"meeting", "coercion"})


def build(context: ReportContext, reporter: Reporter | None = None) -> dict:
    """The report payload for one case."""
    reporter = reporter or Reporter()
    case = context.case
    categories = list(case.categories or [])
    return {
        "schema": SCHEMA,
        "generated_at": utcnow().isoformat(),
        "reporting_service": {
            "name": reporter.org,
            "service": reporter.service,
            "url": reporter.url,
            "country": reporter.country,
            "contact": {
                "name": f"{reporter.first_name} {reporter.last_name}",
                "email": reporter.email,
                "phone": reporter.phone,
            },
        },
        "report": {
            "case_id": case.id,
            "csea_type": "indecent_imagery" if context.is_media else "grooming",
            "urgent": bool(URGENT.intersection(categories)),
            "detected_by": case.source,
            "incident_at": context.incident_at.isoformat() if context.incident_at else None,
            "surface": case.surface,
            "categories": categories,
            "risk": round(float(case.risk or 0.0), 4),
        },
        "suspect": {
            "account_id": case.subject_account_id,
            "age_band": context.parties[case.subject_account_id].age_band,
            "age_assurance": context.parties[case.subject_account_id].age_assurance,
        },
        "victims": [{"account_id": m, "age_band": context.parties[m].age_band} for m in context.minors],
        "other_recipients": [r for r in case.recipient_ids or [] if r not in context.minors],
        "content": {
            "conversation_id": case.conversation_id,
            "excerpts": [
                {
                    "category": s.get("category"),
                    "message_index": s.get("message_index"),
                    "excerpt": s.get("excerpt"),
                }
                for s in context.signals
            ],
            "media": [
                {
                    "hashes": item["hashes"],
                    "matched_banks": sorted({str(m.get("bank")) for m in item["matches"]}),
                    "viewed_by_service": item["index"] in context.revealed_items,
                }
                for item in context.media
            ],
        },
        "service_action": {
            "decision": case.decision,
            "actions": [{"decision": a.get("decision"), "at": a.get("at")} for a in case.actions or []],
        },
    }
