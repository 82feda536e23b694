"""Case priority: a pure function of what is known about a case.

The queue is sorted by this score, highest first. The weights are chosen so
the order is mostly lexicographic and easy to explain to a reviewer:

* ``60`` for the top tier: ``coercion``, ``sextortion`` or ``meeting`` signals
  (a child under pressure now, or about to meet someone offline) and media
  matching a known-abuse hash bank (a child was abused). No case outside the tier can
  outrank one inside it (the other terms add up to at most 45).
* ``20`` when a child is involved (a minor recipient, victim or reporter):
  contact with children comes before adult-only cases of similar severity.
* ``0-10`` for the worst signal's severity (``CATEGORY_SEVERITY``, 1-5, x2).
* ``0-10`` for the risk score in [0, 1] (conversation or account risk).
* ``0-5`` for recency, halving every 24 hours: among similar cases the newest
  is the most likely to still be unfolding.

Each case also has an SLA class (:func:`sla_class`): which time-to-decision
target of the settings (``[cases.sla]``) applies to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from safeguard.text.categories import CATEGORY_SEVERITY

TOP_TIER = frozenset({"coercion", "sextortion", "meeting", "media_match"})
# Signals of a child in danger now (with a child involved: the most urgent SLA class).
DANGER_NOW = frozenset({"coercion", "sextortion", "meeting"})
# SLA classes, most urgent first (their targets: ``config.SlaTargets``).
SLA_CLASSES = (
    "child_in_danger",
    "child_contact",
    "known_abuse_media",
    "user_report",
    "standard",
    "appeal",
)
TIER_WEIGHT = 60.0
CHILD_WEIGHT = 20.0
SEVERITY_WEIGHT = 2.0
RISK_WEIGHT = 10.0
RECENCY_WEIGHT = 5.0
RECENCY_HALF_LIFE_HOURS = 24.0
# Severities of categories that are not grooming tactics.
EXTRA_SEVERITY = {"media_match": 5, "account_risk": 3}


def severity(categories: Iterable[str]) -> int:
    """The worst severity among ``categories`` (0 when none is known)."""
    return max(
        (CATEGORY_SEVERITY.get(c, EXTRA_SEVERITY.get(c, 0)) for c in categories),
        default=0,
    )


def base_priority(*, risk: float, child_involved: bool, categories: Iterable[str]) -> float:
    """The priority of a case without its recency term: what the case row stores
    (``priority_base``), so the queue can rank in SQL with only recency left to add."""
    cats = set(categories)
    score = TIER_WEIGHT if cats & TOP_TIER else 0.0
    score += CHILD_WEIGHT if child_involved else 0.0
    score += SEVERITY_WEIGHT * severity(cats)
    score += RISK_WEIGHT * min(max(float(risk), 0.0), 1.0)
    return score


def recency(age_hours: float) -> float:
    """The recency term: ``RECENCY_WEIGHT``, halving every ``RECENCY_HALF_LIFE_HOURS``."""
    return RECENCY_WEIGHT * 0.5 ** (max(age_hours, 0.0) / RECENCY_HALF_LIFE_HOURS)


def priority(
    *,
    risk: float,
    child_involved: bool,
    categories: Iterable[str],
    age_hours: float,
) -> float:
    """The priority score of a case (higher is reviewed first); see the module docstring."""
    score = base_priority(risk=risk, child_involved=child_involved, categories=categories)
    return round(score + recency(age_hours), 4)


def sla_class(
    *,
    kind: str,
    source: str,
    child_involved: bool,
    categories: Iterable[str],
    escalation_priority: int | None = None,
) -> str:
    """Which SLA target applies to a case, the most urgent that fits:

    * ``appeal``: an appeal (a person waits for an answer, no child is at risk from it);
    * ``child_in_danger``: an escalation of priority 0 (the policy's "a child in danger
      now", e.g. sextortion of a child), or a child involved with coercion, sextortion
      or meeting signals;
    * ``child_contact``: any other case with a child involved (a child in contact with
      a flagged account, or a child's report);
    * ``known_abuse_media``: media matching a known-abuse bank;
    * ``user_report``: a user's report; ``standard``: anything else.
    """
    cats = set(categories)
    if kind == "appeal":
        return "appeal"
    if escalation_priority == 0 or (child_involved and cats & DANGER_NOW):
        return "child_in_danger"
    if child_involved:
        return "child_contact"
    if "media_match" in cats:
        return "known_abuse_media"
    return "user_report" if source == "user_report" else "standard"


def more_urgent(a: str, b: str) -> str:
    """The more urgent of two SLA classes (a case keeps the most urgent it has had)."""
    rank = {name: index for index, name in enumerate(SLA_CLASSES)}
    return a if rank.get(a, len(rank)) <= rank.get(b, len(rank)) else b
