"""Reviewer wellness: per-user blur, greyscale and sound settings on the case page, audited
changes, and the break reminder after N minutes of high-severity review (injected clock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from web_support import Harness, bank_benign_image, csrf, login

from safeguard.evidence.models import EvidenceRecord
from safeguard.store.db import session_scope
from safeguard.web import wellness
from safeguard.web.models import ConsoleUser
from safeguard.web.wellness import Wellness

T0 = datetime.now(UTC).replace(microsecond=0)


def _records(url: str, action: str) -> list[tuple[str, dict]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(EvidenceRecord.actor, EvidenceRecord.payload).where(EvidenceRecord.action == action)
        ).all()
    return [(actor, json.loads(payload or "{}")) for actor, payload in rows]


class Clock:
    """The console's clock, moved by the test (no sleeping)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: float) -> None:
        self.now = T0 + timedelta(minutes=minutes)


@pytest.fixture
def clock(console: Harness) -> Clock:
    clock = Clock(T0)
    console.client.app.state.console_clock = clock
    return clock


def _save(client, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf(client.get("/console/settings").text)
    return client.post("/console/settings", data={"csrf_token": token, **fields}, follow_redirects=False)


def _low_severity_case(console: Harness) -> str:
    """Age probe, platform move, secrecy and a photo request: escalates without a top-tier signal."""
    conv = "conv-low"
    console.message("adult-2", ["child-2"], "how old are you", mid="low-1", conv=conv)
    console.message("adult-2", ["child-2"], "add me on snap", mid="low-2", conv=conv)
    console.message("adult-2", ["child-2"], "it is our secret", mid="low-3", conv=conv)
    last = console.message("adult-2", ["child-2"], "send me a pic of you", mid="low-4", conv=conv)
    assert last["action"] == "escalate", last
    return last["case_id"]


def test_default_blur_and_greyscale_are_on_the_case_page(console: Harness) -> None:
    sha = bank_benign_image(console.url)
    case_id = console.media("adult-2", ["child-2"], sha, mid="img-w0")["case_id"]
    page = login(console, "rev").get(f"/console/cases/{case_id}").text
    assert 'class="media-item concealed" id="media-0" data-blur="18" data-greyscale="on"' in page
    assert '<div class="frame blur-18 grey">' in page
    assert 'data-sound="off"' in page


def test_settings_are_saved_applied_and_audited(console: Harness) -> None:
    sha = bank_benign_image(console.url)
    case_id = console.media("adult-2", ["child-2"], sha, mid="img-w1")["case_id"]
    client = login(console, "rev")
    saved = _save(client, blur_px="32", break_minutes="20")  # greyscale and sound-off unticked
    assert saved.status_code == 303 and saved.headers["location"] == "/console/settings?msg=settings_saved"

    form = client.get("/console/settings").text
    assert '<option value="32" selected>' in form
    assert 'name="greyscale" value="on" checked' not in form and 'value="20"' in form
    page = client.get(f"/console/cases/{case_id}").text
    assert 'data-blur="32" data-greyscale="off"' in page
    assert '<div class="frame blur-32">' in page and "blur-18" not in page
    assert 'data-sound="on"' in page
    css = client.get("/console/static/console.css").text
    assert "figure.media-item.concealed .frame.blur-32 img { filter: blur(32px); }" in css

    # Another reviewer keeps the defaults: the settings are per user.
    other = login(console, "rev2").get(f"/console/cases/{case_id}").text
    assert '<div class="frame blur-18 grey">' in other

    with session_scope(console.url) as session:
        stored = session.get(ConsoleUser, "rev").wellness
    assert stored == {"blur_px": 32, "greyscale": False, "sound_off": False, "break_minutes": 20}
    records = _records(console.url, "wellness_settings_changed")
    assert records == [
        (
            "console:rev",
            {
                "username": "rev",
                "changes": {
                    "blur_px": {"from": 18, "to": 32},
                    "greyscale": {"from": True, "to": False},
                    "sound_off": {"from": True, "to": False},
                    "break_minutes": {"from": 45, "to": 20},
                },
            },
        )
    ]
    # Saving the same settings again changes nothing and writes no audit record.
    again = _save(client, blur_px="32", break_minutes="20")
    assert again.headers["location"].endswith("msg=settings_unchanged")
    assert len(_records(console.url, "wellness_settings_changed")) == 1


def test_bad_settings_and_missing_csrf_are_refused(console: Harness) -> None:
    client = login(console, "rev")
    for fields in ({"blur_px": "0", "break_minutes": "30"}, {"blur_px": "18", "break_minutes": "-5"}):
        refused = _save(client, **fields)
        assert refused.status_code == 400
    no_token = client.post("/console/settings", data={"blur_px": "8", "break_minutes": "10"})
    assert no_token.status_code == 403
    with session_scope(console.url) as session:
        assert session.get(ConsoleUser, "rev").wellness is None
    assert _records(console.url, "wellness_settings_changed") == []


def test_break_reminder_after_n_minutes_of_high_severity_review(console: Harness, clock: Clock) -> None:
    severe = console.grooming_case()  # ends with "meet up after school": a top-tier signal
    client = login(console, "rev")
    assert _save(client, blur_px="18", greyscale="on", sound_off="on", break_minutes="20").status_code == 303

    for minute in (0, 9, 18):
        clock.at(minute)
        page = client.get(f"/console/cases/{severe}").text
        assert "break-reminder" not in page, minute
    clock.at(21)
    page = client.get(f"/console/cases/{severe}").text
    assert 'class="break-reminder" role="alert"' in page
    assert "reviewing high-severity cases for 21 minutes" in page
    clock.at(23)  # the reminder follows the reviewer to the queue
    assert "for 23 minutes" in client.get("/console").text

    taken = client.post("/console/settings/break", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert taken.status_code == 303
    assert "break-reminder" not in client.get("/console").text
    assert _records(console.url, "break_taken") == [("console:rev", {"stretch_minutes": 23.0})]

    clock.at(24)
    assert "break-reminder" not in client.get(f"/console/cases/{severe}").text  # a new stretch starts


def test_a_pause_ends_the_stretch_and_low_severity_cases_do_not_count(console: Harness, clock: Clock) -> None:
    severe = console.grooming_case()
    low = _low_severity_case(console)
    client = login(console, "rev")
    _save(client, blur_px="18", greyscale="on", sound_off="on", break_minutes="15")

    clock.at(0)
    client.get(f"/console/cases/{severe}")
    for minute in (5, 10, 16):  # only low-severity pages: the stretch is not extended
        clock.at(minute)
        assert "break-reminder" not in client.get(f"/console/cases/{low}").text
    clock.at(30)  # 30 minutes after the stretch began, but the last severe page was 30 minutes ago
    assert "break-reminder" not in client.get(f"/console/cases/{severe}").text
    for minute in (38, 44):  # views less than 10 minutes apart keep the new stretch going
        clock.at(minute)
        assert "break-reminder" not in client.get(f"/console/cases/{severe}").text
    clock.at(46)
    assert "for 16 minutes" in client.get(f"/console/cases/{severe}").text


def test_no_reminder_when_set_to_zero(console: Harness, clock: Clock) -> None:
    severe = console.grooming_case()
    client = login(console, "rev")
    _save(client, blur_px="18", greyscale="on", sound_off="on", break_minutes="0")
    for minute in range(0, 120, 8):
        clock.at(minute)
        assert "break-reminder" not in client.get(f"/console/cases/{severe}").text


def test_stored_settings_fall_back_to_defaults_when_out_of_range() -> None:
    assert Wellness.from_stored(None) == Wellness()
    odd = Wellness.from_stored({"blur_px": 0, "greyscale": False, "break_minutes": 9999, "other": 1})
    assert odd == Wellness(blur_px=18, greyscale=False, sound_off=True, break_minutes=45)
    assert wellness.high_severity({"categories": ["sextortion"]})
    assert wellness.high_severity({"categories": []}, media_count=1)
    assert not wellness.high_severity({"categories": ["platform_move", "image_request"]})
