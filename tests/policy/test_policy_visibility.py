"""F1 visibility as pure rules beside ``filter_suggestions``: a minor's location and
connections are shown only to the minor, and minors are left out of others' lists."""

from __future__ import annotations

from safeguard.config import PolicyRules, Settings
from safeguard.policy import Party, connections_visibility, location_visibility

CHILD = Party("c1", "child", "verified")
CHILD2 = Party("c2", "child", "verified")
ADULT = Party("a1", "adult", "verified")
ADULT2 = Party("a2", "adult", "verified")


def test_a_minors_location_is_shown_only_to_the_minor() -> None:
    settings = Settings()
    hidden = location_visibility(CHILD, "a1", settings=settings)
    assert hidden.hidden and [r.code for r in hidden.reasons] == ["minor_location_hidden"]
    assert not location_visibility(CHILD, "c1", settings=settings).hidden
    assert not location_visibility(ADULT, "c1", settings=settings).hidden
    assert not location_visibility(ADULT, None, settings=settings).hidden


def test_a_minors_connections_are_hidden_and_minors_left_out_of_others_lists() -> None:
    settings = Settings()
    own = connections_visibility(CHILD, [ADULT, CHILD2], "c1", settings=settings)
    assert not own.hidden and own.visible_ids == ["a1", "c2"]
    other = connections_visibility(CHILD, [ADULT, CHILD2], "a2", settings=settings)
    assert other.hidden and other.visible_ids == [] and other.reasons[0].code == "minor_connections_hidden"
    adults = connections_visibility(ADULT, [CHILD, ADULT2, CHILD2], "a2", settings=settings)
    assert adults.visible_ids == ["a2"]
    assert [(r.code, r.account_id) for r in adults.reasons] == [
        ("minor_connection_hidden", "c1"),
        ("minor_connection_hidden", "c2"),
    ]
    # the viewer sees themself in the list, minor or not
    assert connections_visibility(ADULT, [CHILD, ADULT2], "c1", settings=settings).visible_ids == ["c1", "a2"]


def test_the_deployment_may_show_every_list_whole() -> None:
    settings = Settings(policy=PolicyRules(hide_minor_connections=False))
    assert not location_visibility(CHILD, "a1", settings=settings).hidden
    assert connections_visibility(CHILD, [ADULT, CHILD2], "a2", settings=settings).visible_ids == ["a1", "c2"]
