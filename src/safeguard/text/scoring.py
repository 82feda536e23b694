"""Pure scoring functions of the default detector.

Grooming is rare and made of many weak cues, so evidence is combined in two
steps that each suit rare-class detection:

1. Within a category, repeated hits combine by *noisy-OR*
   (``1 - prod(1 - w)``): one strong hit is enough, many weak hits add up, and
   the evidence saturates below 1 so a long chat cannot run away on one tactic.
2. Across categories, evidence enters a *logistic* combination. Tactics that
   are only risky when a child is present (sexual talk, image requests,
   meeting, secrecy...) are multiplied by the child-context evidence: that
   interaction is what tells grooming from consenting adult chat, which uses
   the same words. Breadth (how many distinct tactics appear) adds to the
   score because grooming moves through stages while ordinary chat rarely
   shows more than one or two of these tactics.

The weights are set by hand from the domain reference (product brief) and
checked on the bundled evaluation set; a platform with labelled data replaces
them with ``safeguard train``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from safeguard.text.categories import CATEGORIES, Category

BIAS = -4.6
CATEGORY_WEIGHT: dict[str, float] = {
    Category.AGE_LOCATION_PROBE: 0.7,
    Category.PERSONAL_INFO: 0.6,
    Category.PLATFORM_MOVE: 0.7,
    Category.SECRECY: 1.3,
    Category.FLATTERY_TRUST: 0.5,
    Category.ISOLATION: 1.3,
    Category.GIFTS_MONEY: 0.5,
    Category.IMAGE_REQUEST: 0.8,
    Category.SEXUAL_CONTENT: 0.4,
    Category.MEETING: 0.7,
    Category.COERCION: 1.4,
}
# Tactics whose risk depends on a child being present, and by how much.
CHILD_INTERACTION: dict[str, float] = {
    Category.SEXUAL_CONTENT: 1.6,
    Category.IMAGE_REQUEST: 1.2,
    Category.MEETING: 1.2,
    Category.SECRECY: 0.9,
    Category.PLATFORM_MOVE: 0.6,
    Category.FLATTERY_TRUST: 0.8,
    Category.AGE_LOCATION_PROBE: 0.6,
    Category.GIFTS_MONEY: 0.6,
    Category.ISOLATION: 0.6,
    Category.COERCION: 0.6,
    Category.PERSONAL_INFO: 0.4,
}
CHILD_CONTEXT_WEIGHT = 1.4
BREADTH_WEIGHT = 0.45
BREADTH_MIN_EVIDENCE = 0.4
EMBEDDING_WEIGHT = 4.0
EMBEDDING_MAX_STRENGTH = 0.6
# A message counts towards nearest-example evidence by how far its contrastive
# score exceeds this margin (capped), so near-ties with harmless examples add nothing.
EMBEDDING_MARGIN = 0.25
EMBEDDING_CAP = 2.0


def embedding_excess(score: float) -> float:
    """How far one message's contrastive score clears the margin (capped)."""
    return min(max(score - EMBEDDING_MARGIN, 0.0), EMBEDDING_CAP)


def embedding_strength(score: float) -> float:
    """One message's nearest-example evidence in [0, EMBEDDING_MAX_STRENGTH],
    combined across messages by noisy-OR like the lexicon's evidence."""
    return EMBEDDING_MAX_STRENGTH * embedding_excess(score) / EMBEDDING_CAP


def noisy_or(weights: Iterable[float]) -> float:
    """Combine independent pieces of evidence: ``1 - prod(1 - w)``."""
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - min(max(weight, 0.0), 1.0)
    return 1.0 - remaining


def sigmoid(z: float) -> float:
    """The logistic function, safe for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


def breadth(evidence: Mapping[str, float]) -> int:
    """How many distinct tactics have real evidence."""
    return sum(1 for c in CATEGORIES if evidence.get(c, 0.0) >= BREADTH_MIN_EVIDENCE)


def conversation_logit(
    evidence: Mapping[str, float], child_context: float, embedding_evidence: float = 0.0
) -> float:
    """Log-odds of grooming from per-category evidence and child context."""
    z = BIAS + CHILD_CONTEXT_WEIGHT * child_context
    for category in CATEGORIES:
        e = evidence.get(category, 0.0)
        if e:
            z += CATEGORY_WEIGHT[category] * e
            z += CHILD_INTERACTION[category] * e * child_context
    # Many tactics at once is telling mainly when a child is there: adults
    # flirting also ask for photos, a meeting and a number.
    z += BREADTH_WEIGHT * max(breadth(evidence) - 1, 0) * (0.4 + 0.6 * child_context)
    z += EMBEDDING_WEIGHT * embedding_evidence
    return z


def conversation_risk(
    evidence: Mapping[str, float], child_context: float, embedding_evidence: float = 0.0
) -> float:
    """Grooming risk in [0, 1] for one conversation (or one author's share of it)."""
    return sigmoid(conversation_logit(evidence, child_context, embedding_evidence))
