"""Grooming signal categories and stages (names from the product brief)."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """Grooming tactic categories: the names moderators and reports use."""

    AGE_LOCATION_PROBE = "age_location_probe"
    PERSONAL_INFO = "personal_info"
    PLATFORM_MOVE = "platform_move"
    SECRECY = "secrecy"
    FLATTERY_TRUST = "flattery_trust"
    ISOLATION = "isolation"
    GIFTS_MONEY = "gifts_money"
    IMAGE_REQUEST = "image_request"
    SEXUAL_CONTENT = "sexual_content"
    MEETING = "meeting"
    COERCION = "coercion"
    SEXTORTION = "sextortion"


CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)


class Stage(StrEnum):
    """Grooming stages (O'Connell, refined): they overlap and repeat."""

    NONE = "none"
    FRIENDSHIP_FORMING = "friendship_forming"
    RELATIONSHIP_FORMING = "relationship_forming"
    RISK_ASSESSMENT = "risk_assessment"
    EXCLUSIVITY = "exclusivity"
    SEXUAL = "sexual"
    MEETING_COMPLIANCE = "meeting_compliance"
    SEXTORTION = "sextortion"  # threats over images already sent, payment demands


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)

# Which stage each tactic is evidence of. Probing age and location belongs to
# friendship forming when it is small talk and to risk assessment when it asks
# who else is home: the signal pattern itself may override (see signals.py).
CATEGORY_STAGE: dict[str, Stage] = {
    Category.AGE_LOCATION_PROBE: Stage.FRIENDSHIP_FORMING,
    Category.PERSONAL_INFO: Stage.FRIENDSHIP_FORMING,
    Category.FLATTERY_TRUST: Stage.RELATIONSHIP_FORMING,
    Category.GIFTS_MONEY: Stage.RELATIONSHIP_FORMING,
    Category.PLATFORM_MOVE: Stage.EXCLUSIVITY,
    Category.SECRECY: Stage.EXCLUSIVITY,
    Category.ISOLATION: Stage.EXCLUSIVITY,
    Category.IMAGE_REQUEST: Stage.SEXUAL,
    Category.SEXUAL_CONTENT: Stage.SEXUAL,
    Category.MEETING: Stage.MEETING_COMPLIANCE,
    Category.COERCION: Stage.MEETING_COMPLIANCE,
    Category.SEXTORTION: Stage.SEXTORTION,
}

# Severity used to order signals in explanations and, later, case priority.
CATEGORY_SEVERITY: dict[str, int] = {
    Category.SEXTORTION: 6,
    Category.COERCION: 5,
    Category.MEETING: 5,
    Category.IMAGE_REQUEST: 4,
    Category.SEXUAL_CONTENT: 4,
    Category.SECRECY: 3,
    Category.ISOLATION: 3,
    Category.PLATFORM_MOVE: 3,
    Category.AGE_LOCATION_PROBE: 2,
    Category.PERSONAL_INFO: 2,
    Category.GIFTS_MONEY: 2,
    Category.FLATTERY_TRUST: 1,
}
