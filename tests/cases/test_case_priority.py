"""Priority ordering: coercion, meeting and media matches first; then children; then risk and recency."""

from __future__ import annotations

from safeguard.cases.priority import priority


def _p(risk: float = 0.5, child: bool = False, cats: tuple[str, ...] = (), age: float = 0.0) -> float:
    return priority(risk=risk, child_involved=child, categories=cats, age_hours=age)


def test_top_tier_outranks_everything_else() -> None:
    weakest_top = _p(risk=0.0, child=False, cats=("meeting",), age=1000)
    strongest_other = _p(risk=1.0, child=True, cats=("image_request", "secrecy"), age=0)
    assert weakest_top > strongest_other
    assert _p(cats=("coercion",)) > _p(cats=("sexual_content",), child=True, risk=1.0)
    assert _p(cats=("media_match",), risk=0.0, age=500) > _p(cats=("platform_move",), child=True, risk=1.0)


def test_child_involvement_raises_priority() -> None:
    assert _p(child=True, cats=("secrecy",)) > _p(child=False, cats=("secrecy",))
    assert _p(child=True, cats=("flattery_trust",), risk=0.1) > _p(
        child=False, cats=("image_request",), risk=1.0
    )


def test_severity_then_risk_then_recency() -> None:
    assert _p(cats=("image_request",)) > _p(cats=("platform_move",))
    assert _p(cats=("secrecy",), risk=0.9) > _p(cats=("secrecy",), risk=0.2)
    assert _p(cats=("secrecy",), age=1) > _p(cats=("secrecy",), age=48)


def test_sorting_a_mixed_queue() -> None:
    cases = {
        "adult-only flattery": _p(risk=0.4, cats=("flattery_trust",)),
        "child platform move": _p(risk=0.6, child=True, cats=("platform_move",)),
        "child meeting": _p(risk=0.9, child=True, cats=("meeting",)),
        "media match": _p(risk=1.0, child=False, cats=("media_match",)),
        "old child meeting": _p(risk=0.9, child=True, cats=("meeting",), age=96),
    }
    order = sorted(cases, key=lambda k: -cases[k])
    assert order == [
        "child meeting",
        "old child meeting",
        "media match",
        "child platform move",
        "adult-only flattery",
    ]


def test_bounds_are_respected() -> None:
    assert _p(risk=5.0) == _p(risk=1.0)
    assert _p(risk=-1.0) == _p(risk=0.0)
    assert _p(age=-5) == _p(age=0)
