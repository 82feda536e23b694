"""Pure scoring functions of the default detector.

Grooming is rare, made of many weak cues, and shows itself through the
*relationship*: one person building affection and trust with another, checking
who is around, asking for secrecy, testing boundaries and arranging to meet,
over many turns. Ordinary chat uses the same words one at a time: strangers
open with "asl", teenagers tell each other their age, adults flirt and talk
about sex among themselves. So the score is built to reward the combination and
not the words:

1. **Cues, not categories.** Each signal pattern names a *cue* (``risk_check``:
   "are your parents home"; ``opener``: "asl"). A cue's weight says how much it
   tells on its own; stranger-chat openers tell nothing (weight 0), sexual
   vocabulary alone very little, checking who is home or acknowledging the age
   gap a lot.
2. **Evidence that forgets.** Within a cue, repeated hits combine by noisy-OR
   (one strong hit is enough, weak ones add up, it saturates below 1), and the
   evidence decays with the words written since (half-life ``HALF_LIFE_WORDS``).
   A long, friendly, harmless conversation therefore cannot pile up stray cues
   until it is flagged; a grooming conversation, where the cues are dense, is
   flagged where they are.
3. **Child presence as one signal among others, and a boost.** Whether a child
   is there (their own words: "im 13", "my mum won't let me"; the service's age
   bands; an adult's stated age beside a child's, the *age gap*) adds to the
   score and raises how much the tactics count, but it is not a multiplier
   without which nothing counts: most real grooming text never states an age.
4. **Families and breadth.** Cues group into families (bonding, exclusivity,
   risk assessment, sexual, meeting...). Grooming moves through several; so
   the number of families with real evidence adds, as ordinary chat rarely
   shows more than one or two.
5. **Who says what.** With speakers known, each participant is scored on their
   own cues, against the evidence that the *other* participants are children:
   the adult who grooms, not the child who answers, is the likely groomer.

The weights are set by hand from published descriptions of offender behaviour
and checked on the blind evaluation sets (``benchmarks/blind``); a platform with
labelled data replaces them with ``safeguard train``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

BIAS = -4.6
# Logit weight of full evidence of each cue, for text alone (no child evidence).
CUE_WEIGHT: dict[str, float] = {
    # age_location_probe
    "opener": 0.0,
    "location": 0.2,
    "school_probe": 0.6,
    "risk_check": 2.2,
    "risk_awareness": 2.4,
    # personal_info, platform_move
    "personal_info": 0.8,
    "platform": 0.4,
    "private_channel": 1.1,
    # secrecy, isolation
    "secrecy": 2.0,
    "delete_chat": 2.0,
    "isolation": 1.9,
    # flattery_trust
    "mature": 2.2,
    "flattery": 0.5,
    "pet_name": 0.5,
    "affection": 0.9,
    "trust": 1.0,
    # gifts_money
    "gifts": 0.8,
    # image_request
    "image": 0.8,
    "cam": 1.0,
    "clothing": 1.2,
    "image_private": 1.8,
    "image_swap": 0.8,
    # sexual_content
    "sexual": 0.3,
    "body": 0.2,
    "experience": 1.2,
    "intimacy": 0.7,
    "teach": 1.3,
    # meeting
    "meeting": 1.0,
    "pickup": 1.4,
    "meet_secret": 2.0,
    # coercion
    "coercion": 1.6,
    "self_harm": 4.5,
    "doxxing": 2.5,
    # sextortion: threats over images, leverage, deadlines, payment
    "image_threat": 5.6,
    "extortion": 5.6,
    "leverage": 1.6,
    "deadline": 0.9,
    "payment_demand": 1.2,
    "turn": 1.0,
    # the child's pictures kept or recorded ("i kept all of them", "i screen recorded the call")
    "image_leverage": 1.6,
    # a child sent a picture after this author's pics-for-pics or private request (``text.sextortion``)
    "image_obtained": 1.5,
    # a threat, leverage, deadline or demand from an author holding such a picture
    "held_threat": 5.6,
}
# Cues that are only tactics between an adult and a child: how much child
# evidence raises them (sexual talk, images and meeting are ordinary between
# adults, and alarming towards a child).
CHILD_BOOST: dict[str, float] = {
    "sexual": 5.0,
    "body": 3.0,
    "experience": 1.5,
    "intimacy": 3.0,
    "teach": 1.0,
    "image": 2.0,
    "cam": 1.4,
    "clothing": 1.4,
    "image_private": 1.0,
    "image_swap": 2.0,
    "image_leverage": 2.4,
    "image_obtained": 3.0,
    "turn": 1.5,
    "meeting": 1.6,
    "pickup": 1.3,
    "meet_secret": 1.0,
    "pet_name": 1.6,
    "affection": 1.4,
    "flattery": 1.0,
    "trust": 1.0,
    "gifts": 1.0,
    "platform": 1.2,
    "private_channel": 1.0,
    "secrecy": 0.8,
    "delete_chat": 0.8,
    "personal_info": 0.8,
    "school_probe": 0.6,
    "location": 0.8,
}
CUE_FAMILY: dict[str, str] = {
    "opener": "probe",
    "location": "probe",
    "school_probe": "probe",
    "personal_info": "probe",
    "risk_check": "risk",
    "risk_awareness": "risk",
    "platform": "exclusivity",
    "private_channel": "exclusivity",
    "secrecy": "exclusivity",
    "delete_chat": "exclusivity",
    "isolation": "exclusivity",
    "mature": "bonding",
    "flattery": "bonding",
    "pet_name": "bonding",
    "affection": "bonding",
    "trust": "bonding",
    "gifts": "bonding",
    "image": "sexual",
    "cam": "sexual",
    "clothing": "sexual",
    "image_private": "sexual",
    "image_swap": "sexual",
    "sexual": "sexual",
    "body": "sexual",
    "experience": "sexual",
    "intimacy": "sexual",
    "teach": "sexual",
    "meeting": "meeting",
    "pickup": "meeting",
    "meet_secret": "meeting",
    "coercion": "coercion",
    "self_harm": "harm",
    "doxxing": "harm",
    "image_threat": "sextortion",
    "extortion": "sextortion",
    "leverage": "sextortion",
    "deadline": "sextortion",
    "payment_demand": "sextortion",
    "turn": "sextortion",
    "image_leverage": "sextortion",
    "image_obtained": "sextortion",
    "held_threat": "sextortion",
}
# Families that count towards breadth (probing alone is ordinary small talk).
BREADTH_FAMILIES = ("risk", "exclusivity", "bonding", "sexual", "meeting", "coercion", "harm", "sextortion")
FAMILY_MIN_LOGIT = 0.6  # a family counts when its cues add at least this much
BREADTH_WEIGHT = 0.8
CHILD_WEIGHT = 0.8  # the other party's own words say they are a child
GAP_WEIGHT = 2.5  # an adult's stated age beside a child's
KNOWN_CHILD_WEIGHT = 1.2  # age bands: an adult or unknown account writing to a child
EMBEDDING_WEIGHT = 4.0
# Closeness of an author's most tactic-like messages to the tactic bank
# (``text.similarity``): ordinary chat sits around 0.6, tactics around 0.8.
SIMILARITY_MARGIN = 0.78
SIMILARITY_SPAN = 0.12
SIMILARITY_WEIGHT = 6.0
SIMILARITY_BOOST = 0.5
HALF_LIFE_WORDS = 220.0
DECAY_PER_WORD = math.log(2.0) / HALF_LIFE_WORDS
# Evidence of one family saturates: five bonding cues are not five times one. Without
# child presence sexual talk, flirting and meeting up are what adults do among
# themselves, so those families are capped low; presence raises every cap.
# (cap without child presence, cap with full presence), interpolated by presence.
FAMILY_CAP: dict[str, tuple[float, float]] = {
    "risk": (4.0, 5.0),
    "exclusivity": (3.5, 4.5),
    "coercion": (3.0, 4.0),
    "harm": (5.0, 6.0),
    "sextortion": (6.0, 7.0),
    "bonding": (1.5, 3.0),
    "sexual": (1.0, 5.0),
    "meeting": (1.6, 4.0),
    "probe": (1.0, 1.5),
}
# Breadth counts only when a hallmark of grooming (risk checks, exclusivity,
# coercion) is there: flirting, pictures and a date are breadth among adults too.
HALLMARK_FAMILIES = frozenset({"risk", "exclusivity", "coercion", "harm", "sextortion"})
CHILD_PRESENCE_SHARE = 0.5
# Stated ages: under CHILD_AGE a child, from ADULT_AGE an adult for the age gap.
CHILD_AGE = 15
ADULT_AGE = 21
# The groomer is scored down when their own words say they are a child.
SELF_CHILD_DISCOUNT = 0.3
SEXTORTION_COMBO = 1.5  # a threat over images with a demand or leverage, at full strength
LENGTH_PENALTY = 1.0
LENGTH_SCALE = 300.0  # words
LENGTH_PRESENCE_RELIEF = 0.7
# What an author's evidence counts for when the bands show only adults on the other side.
ADULTS_ONLY_SHARE = 0.4
BREADTH_MIN_EVIDENCE = 0.4  # a category with this much evidence counts as a stage reached


@dataclass(frozen=True, slots=True)
class Context:
    """What is known about the people on the other side of one author's messages."""

    child: float = 0.0  # their own words say they are a child, in [0, 1]
    age_gap: float = 0.0  # this author stated an adult age and another a child's
    known_child: float = 0.0  # age bands: this author is adult/unknown, another a child or teen
    self_child: float = 0.0  # this author's own words say they are a child
    adults_only: bool = False  # age bands: everyone on the other side is a known adult

    @property
    def presence(self) -> float:
        """The strongest evidence that an adult is talking to a child here, in [0, 1].

        A child's own words count for half: teenagers tell each other their age all
        the time, so a stated young age without an adult's (an age gap, an account's
        band) says less about who is on the other side."""
        return max(CHILD_PRESENCE_SHARE * self.child, self.age_gap, self.known_child)


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


def decayed(evidence: float, words: float) -> float:
    """Evidence after ``words`` more words were written (half-life ``HALF_LIFE_WORDS``)."""
    if words <= 0 or evidence <= 0:
        return evidence
    return evidence * math.exp(-DECAY_PER_WORD * words)


def family_logits(cues: Mapping[str, float], presence: float) -> dict[str, float]:
    """Each family's contribution to the log-odds: its cues' evidence times their weight,
    raised by child presence, capped per family."""
    out: dict[str, float] = {}
    for cue, evidence in cues.items():
        weight = CUE_WEIGHT.get(cue, 0.0)
        if not evidence or not weight:
            continue
        boost = 1.0 + CHILD_BOOST.get(cue, 0.0) * presence
        family = CUE_FAMILY.get(cue, cue)
        out[family] = out.get(family, 0.0) + weight * boost * evidence
    capped = {}
    for family, value in out.items():
        low, high = FAMILY_CAP.get(family, (2.0, 3.0))
        capped[family] = min(value, low + (high - low) * presence)
    return capped


def breadth(families: Mapping[str, float]) -> int:
    """How many grooming families carry real evidence (0 without a hallmark family)."""
    present = {f for f in BREADTH_FAMILIES if families.get(f, 0.0) >= FAMILY_MIN_LOGIT}
    return len(present) if present & HALLMARK_FAMILIES else 0


def similarity_excess(similarity: float) -> float:
    """One message's closeness to the tactic bank beyond ``SIMILARITY_MARGIN``, in [0, 1]."""
    return min(max((similarity - SIMILARITY_MARGIN) / SIMILARITY_SPAN, 0.0), 1.0)


def similarity_logit(density: float, presence: float) -> float:
    """What closeness to the tactic bank adds: ``density`` is the mean excess of an
    author's recent messages (``similarity_excess``), raised by child presence."""
    return SIMILARITY_WEIGHT * density * (1.0 + SIMILARITY_BOOST * presence)


def sextortion_logit(cues: Mapping[str, float]) -> float:
    """A threat over images together with a demand (money, a deadline) or proof of
    leverage is the sextortion playbook: alarming at once, whoever is involved."""
    threat = max(cues.get("image_threat", 0.0), cues.get("extortion", 0.0))
    demand = max(cues.get("payment_demand", 0.0), cues.get("deadline", 0.0), cues.get("leverage", 0.0))
    return SEXTORTION_COMBO * min(threat, demand) / 0.5 if threat >= 0.4 and demand >= 0.3 else 0.0


def author_logit(
    cues: Mapping[str, float], context: Context, embedding_evidence: float = 0.0, similarity: float = 0.0
) -> float:
    """Log-odds that one author (or a text without speakers) is grooming a child."""
    presence = context.presence
    families = family_logits(cues, presence)
    z = BIAS + sum(families.values()) + similarity_logit(similarity, presence) + sextortion_logit(cues)
    z += (
        CHILD_WEIGHT * context.child + GAP_WEIGHT * context.age_gap + KNOWN_CHILD_WEIGHT * context.known_child
    )
    z += BREADTH_WEIGHT * max(breadth(families) - 1, 0) * (0.6 + 0.4 * presence)
    z += EMBEDDING_WEIGHT * embedding_evidence
    if context.self_child and not context.age_gap:
        z -= SELF_CHILD_DISCOUNT * context.self_child * max(z - BIAS, 0.0)
    if context.adults_only:  # no child to groom here, whatever the words
        z = BIAS + ADULTS_ONLY_SHARE * (z - BIAS)
    return z


def author_risk(
    cues: Mapping[str, float], context: Context, embedding_evidence: float = 0.0, similarity: float = 0.0
) -> float:
    """Grooming risk in [0, 1] of one author's messages."""
    return sigmoid(author_logit(cues, context, embedding_evidence, similarity))


def length_calibrated(logit: float, words: float, presence: float = 0.0) -> float:
    """The risk of a conversation's strongest moment, calibrated by its length.

    The running risk is the highest any stretch of the conversation reached; the
    longer the conversation, the more stretches it has, and the likelier one of
    them looks bad by chance (a long, friendly chat mentions picking someone up,
    a secret, a parent's rules). So the log-odds are lowered by
    ``LENGTH_PENALTY * log(1 + words / LENGTH_SCALE)``: little for a few hundred
    words, more for thousands, like a correction for looking many times. Where the
    age bands show an adult writing to a child (``presence``), chance matters less:
    the same tactics are alarming wherever they fall, so the correction is smaller.
    """
    penalty = LENGTH_PENALTY * (1.0 - LENGTH_PRESENCE_RELIEF * presence)
    return sigmoid(logit - penalty * math.log1p(max(words, 0.0) / LENGTH_SCALE))


def age_gap(adult_ages: Iterable[int], child_ages: Iterable[int]) -> float:
    """1 when an adult's stated age (>= ``ADULT_AGE``) meets a child's (<= ``CHILD_AGE``),
    0.5 when an 18-20-year-old's does, else 0."""
    adult = max((a for a in adult_ages if a >= 18), default=0)
    child = min((a for a in child_ages if a <= CHILD_AGE), default=0)
    if not adult or not child:
        return 0.0
    return 1.0 if adult >= ADULT_AGE else 0.5
