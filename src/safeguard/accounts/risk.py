"""Account-level risk (capability 2): pure scoring over counts gathered from the store.

Each rule that fires contributes a named reason and a weight; the weights are
combined as independent evidence (``1 - prod(1 - w)``), so one strong reason
is enough to reach the hold threshold and several weaker ones add up without
ever exceeding 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from safeguard.config import AccountRiskLimits
from safeguard.core.types import Reason


@dataclass(frozen=True, slots=True)
class AccountRiskInputs:
    """What the store knows about one account, reduced to counts."""

    account_id: str
    unconnected_minors_in_window: int = 0
    signal_conversations: dict[str, int] = field(default_factory=dict)
    declared_age_band: str | None = None
    age_band: str = "unknown"
    age_assurance: str = "self_declared"
    media_matches: int = 0
    script_children: int = 0


@dataclass(frozen=True, slots=True)
class AccountRisk:
    """Account-level risk in [0, 1] and the reasons for it."""

    account_id: str
    risk: float
    reasons: list[Reason]

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "account_id": self.account_id,
            "risk": self.risk,
            "reasons": [r.to_dict() for r in self.reasons],
        }


def score_account(inputs: AccountRiskInputs, limits: AccountRiskLimits) -> AccountRisk:
    """Score an account from its counts; every contributing rule is named."""
    weighted: list[tuple[float, Reason]] = []
    aid = inputs.account_id
    if inputs.unconnected_minors_in_window >= limits.max_unconnected_minors:
        weighted.append(
            (
                limits.weight_fan_out,
                Reason(
                    "fan_out_to_minors",
                    f"contacted {inputs.unconnected_minors_in_window} distinct unconnected "
                    f"minors in {limits.window_hours:g} h "
                    f"(limit {limits.max_unconnected_minors})",
                    aid,
                ),
            )
        )
    for category in limits.repeated_signal_categories:
        conversations = inputs.signal_conversations.get(category, 0)
        if conversations >= limits.repeated_signal_conversations:
            weighted.append(
                (
                    limits.weight_repeated_signal,
                    Reason(
                        f"repeated_{category}",
                        f"'{category}' signals in {conversations} conversations "
                        f"(limit {limits.repeated_signal_conversations})",
                        aid,
                    ),
                )
            )
    if (
        inputs.declared_age_band in {"child", "teen"}
        and inputs.age_band == "adult"
        and inputs.age_assurance in {"estimated", "verified"}
    ):
        weighted.append(
            (
                limits.weight_age_mismatch,
                Reason(
                    "age_mismatch",
                    f"self-declared {inputs.declared_age_band}, {inputs.age_assurance} as adult",
                    aid,
                ),
            )
        )
    if inputs.media_matches > 0:
        weighted.append(
            (
                limits.weight_shared_media,
                Reason(
                    "shared_known_media",
                    f"sent {inputs.media_matches} item(s) matching a hash bank",
                    aid,
                ),
            )
        )
    if limits.script_linking_enabled and inputs.script_children >= limits.script_linking_children:
        weighted.append(
            (
                limits.weight_script_linking,
                Reason(
                    "same_script",
                    f"same script sent to {inputs.script_children} children in {limits.window_hours:g} h",
                    aid,
                ),
            )
        )
    remaining = 1.0
    for weight, _ in weighted:
        remaining *= 1.0 - weight
    return AccountRisk(aid, round(1.0 - remaining, 6), [reason for _, reason in weighted])
