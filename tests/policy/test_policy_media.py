"""``decide_media``: bank matches, then nudity protection for child accounts, as a library call.

Benign drawn images only; positives come from a stub scorer (see tests/media/test_media_nudity.py).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.accounts.service import upsert_account
from safeguard.config import Settings
from safeguard.errors import InputError
from safeguard.ingest.records import Message
from safeguard.media import banks, nudity
from safeguard.media.matching import clear_index_cache
from safeguard.policy.media import decide_media
from safeguard.policy.models import EscalationRow
from safeguard.store.db import get_sessionmaker, session_scope
from safeguard.text import Detector


@dataclass
class Submission:
    """Not the API's schema: any object with these fields will do."""

    sender_id: str
    recipient_ids: list[str] = field(default_factory=list)
    message_id: str | None = None
    pdq: str | None = None
    md5: str | None = None
    sha256: str | None = None
    nudity_score: float | None = None
    conversation_id: str | None = None


def shapes() -> bytes:
    image = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 140, 120), fill="red")
    draw.ellipse((160, 60, 300, 200), fill="blue")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


IMAGE = shapes()


def positive(_rgb: np.ndarray) -> float:
    return 0.93


def negative(_rgb: np.ndarray) -> float:
    return 0.02


class Counter:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def labels(self, *key: str) -> Counter:
        self._key = key
        return self

    def inc(self) -> None:
        self.counts[self._key] = self.counts.get(self._key, 0) + 1


class Metrics:
    def __init__(self) -> None:
        self.decisions = Counter()


@dataclass
class Env:
    url: str
    settings: Settings
    escalations: list[EscalationRow] = field(default_factory=list)
    states: dict[str, object] = field(default_factory=dict)
    detector: Detector = field(default_factory=lambda: Detector(embeddings=False))

    @contextmanager
    def write(self) -> Iterator[Session]:
        session = get_sessionmaker(self.url)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def update_conversation(self, conversation_id: str, apply):  # type: ignore[no-untyped-def]
        state = self.states.setdefault(conversation_id, self.detector.new_conversation(conversation_id))
        apply(state)
        return state

    def decide(self, submission: Submission, data: bytes | None = None, **kw):  # type: ignore[no-untyped-def]
        kw.setdefault("update_conversation", self.update_conversation)
        return decide_media(
            submission,
            data,
            write=self.write,
            settings=self.settings,
            on_escalation=lambda _session, row: self.escalations.append(row),
            **kw,
        )


@pytest.fixture
def env(db_url: str) -> Env:
    settings = Settings(database_url=db_url)
    with session_scope(db_url) as session:
        for account_id, band in (("kid", "child"), ("teen", "teen"), ("grown", "adult"), ("grown2", "adult")):
            upsert_account(session, account_id, age_band=band, settings=settings)
    return Env(db_url, settings)


def test_child_sender_of_a_flagged_image_is_warned_before_sending(env: Env) -> None:
    metrics = Metrics()
    body = env.decide(Submission("kid", ["grown"]), IMAGE, nudity_scorer=positive, metrics=metrics)
    nude = body["nudity"]
    assert (nude["action"], nude["sender_action"], nude["recipient_action"]) == (
        "warn_before_send", "warn_before_send", "allow"
    )
    assert nude["text"] == nudity.SENDER_TEXT and nude["score"] == pytest.approx(0.93)
    assert nude["recipient_actions"] == {"grown": "allow"} and nude["source"] == "server"
    assert body["action"] == "require_confirmation"
    assert [r["code"] for r in body["reasons"]] == ["nudity_outgoing_minor"]
    assert body["hashes"]["pdq"] and body["hashes"]["sha256"] == hashlib.sha256(IMAGE).hexdigest()
    assert metrics.decisions.counts == {("media", "require_confirmation"): 1}


def test_child_recipients_get_blur_and_warn_per_recipient(env: Env) -> None:
    body = env.decide(Submission("grown", ["kid", "grown2", "teen"]), IMAGE, nudity_scorer=positive)
    nude = body["nudity"]
    assert nude["action"] == "blur_and_warn" and nude["text"] == nudity.RECIPIENT_TEXT
    assert nude["recipient_actions"] == {"kid": "blur_and_warn", "grown2": "allow", "teen": "blur_and_warn"}
    assert body["action"] == "warn_recipient"
    assert [r["code"] for r in body["reasons"]] == ["nudity_incoming_minor", "nudity_from_adult_to_minor"]


def test_a_negative_image_is_allowed_with_its_score(env: Env) -> None:
    body = env.decide(Submission("kid", ["teen"]), IMAGE, nudity_scorer=negative)
    assert body["action"] == "allow" and body["reasons"] == []
    assert body["nudity"]["action"] == "allow" and body["nudity"]["score"] == pytest.approx(0.02)
    assert body["nudity"]["text"] is None


def test_adults_only_are_not_screened(env: Env) -> None:
    calls: list[int] = []

    def counting(rgb: np.ndarray) -> float:
        calls.append(1)
        return 0.99

    body = env.decide(Submission("grown", ["grown2"]), IMAGE, nudity_scorer=counting)
    assert "nudity" not in body and body["action"] == "allow" and calls == []


def test_hash_only_submission_with_a_device_score(env: Env) -> None:
    body = env.decide(Submission("grown", ["kid"], md5="0" * 32, nudity_score=0.8))
    assert body["nudity"]["action"] == "blur_and_warn" and body["nudity"]["source"] == "device"
    assert body["hashes"]["md5"] == "0" * 32
    low = env.decide(Submission("kid", ["grown"], md5="0" * 32, nudity_score=0.1))
    assert low["nudity"]["action"] == "allow" and low["action"] == "allow"
    unscored = env.decide(Submission("kid", ["grown"], md5="0" * 32))
    assert "nudity" not in unscored


def test_missing_extra_is_a_reason_and_protects_the_child(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nudity, "nudity_available", lambda: False)
    body = env.decide(Submission("grown", ["kid"]), IMAGE)
    assert body["action"] == "warn_recipient"
    assert body["nudity"]["screened"] is False and body["nudity"]["action"] == "blur_and_warn"
    assert body["nudity"]["text"] == nudity.UNSCREENED_RECIPIENT_TEXT
    assert [r["code"] for r in body["reasons"]] == ["nudity_unavailable"]
    assert "not screened" in body["reasons"][0]["detail"]
    adults = env.decide(Submission("grown", ["grown2"]), IMAGE)
    assert adults["action"] == "allow" and "nudity" not in adults and adults["reasons"] == []


def test_a_broken_scorer_is_a_reason_and_protects_the_child(env: Env) -> None:
    def broken(_rgb: np.ndarray) -> float:
        raise RuntimeError("model file damaged")

    body = env.decide(Submission("kid", ["grown"]), IMAGE, nudity_scorer=broken)
    assert body["action"] == "require_confirmation"
    assert body["nudity"]["action"] == "warn_before_send" and body["nudity"]["score"] is None
    assert [r["code"] for r in body["reasons"]] == ["nudity_unscreened"]
    assert "RuntimeError" in body["reasons"][0]["detail"]


def test_a_bank_match_takes_precedence(env: Env, tmp_path: Path) -> None:
    csv = tmp_path / "bank.csv"
    csv.write_text(f"hash,signal_type\n{hashlib.sha256(IMAGE).hexdigest()},sha256\n")
    with session_scope(env.url) as session:
        banks.import_file(session, "test-bank", csv, create=True)
    clear_index_cache()
    calls: list[int] = []

    def counting(rgb: np.ndarray) -> float:
        calls.append(1)
        return 0.99

    body = env.decide(
        Submission("grown", ["kid"], conversation_id="c1"), IMAGE, nudity_scorer=counting
    )
    assert body["action"] == "escalate" and "nudity" not in body and calls == []
    assert [r["code"] for r in body["reasons"]] == ["hash_bank_match"]
    assert [e.id for e in env.escalations] == [body["case_id"]]
    with session_scope(env.url) as session:
        assert session.execute(select(EscalationRow.kind)).scalars().all() == ["media"]
    assert env.states == {}  # nothing recorded in the conversation


def test_an_unreadable_upload_names_the_file_field(env: Env) -> None:
    with pytest.raises(InputError) as caught:
        env.decide(Submission("kid", ["grown"]), b"not an image", nudity_scorer=positive)
    assert caught.value.field == "file"


def test_image_is_recorded_in_the_conversation(env: Env) -> None:
    state = env.detector.new_conversation("c1")
    env.states["c1"] = state
    for i in range(3):
        ask = Message("c1", f"a{i}", "grown", "send me a pic", None, None)
        state.add_message(ask, recipient_age_bands=["child"])
        state.add_message(Message("c1", f"k{i}", "kid", "no", None, None), recipient_age_bands=["adult"])
    before = state.evidence["coercion"]
    body = env.decide(
        Submission("kid", ["grown"], message_id="img-1", conversation_id="c1"), IMAGE, nudity_scorer=positive
    )
    assert body["nudity"]["action"] == "warn_before_send"
    assert state.evidence["coercion"] > before
    assert state.image_events[-1]["kind"] == "image" and state.image_events[-1]["message_id"] == "img-1"
    conversation = [r for r in body["reasons"] if r["code"] == "conversation_coercion"]
    assert conversation and conversation[0]["account_id"] == "grown"


def test_states_without_image_events_are_left_alone(env: Env) -> None:
    class Plain:
        def to_dict(self) -> dict:
            return {}

    seen: list[object] = []

    def update(conversation_id: str, apply):  # type: ignore[no-untyped-def]
        state = Plain()
        apply(state)
        seen.append(state)

    body = env.decide(
        Submission("grown", ["kid"], conversation_id="c9"),
        IMAGE,
        nudity_scorer=positive,
        update_conversation=update,
    )
    assert body["nudity"]["action"] == "blur_and_warn" and len(seen) == 1


def test_the_nudity_threshold_is_a_deployment_setting(db_url: str, env: Env) -> None:
    from safeguard.config import PolicyRules

    strict = Env(db_url, Settings(database_url=db_url, policy=PolicyRules(nudity_threshold=0.95)))
    body = strict.decide(Submission("grown", ["kid"], conversation_id="c"), IMAGE, nudity_scorer=positive)
    assert body["nudity"]["action"] == "allow" and body["nudity"]["threshold"] == 0.95
    assert body["action"] == "allow"
    device = strict.decide(Submission("grown", ["kid"], md5="0" * 32, nudity_score=0.9))
    assert device["nudity"]["action"] == "allow"
    # The conversation's evidence uses the same cut-off: 0.93 is not nudity here ...
    assert strict.states["c"].evidence.get("sexual_content", 0.0) == 0.0
    assert strict.states["c"].to_dict()["nudity_threshold"] == 0.95
    # ... and is with the default (0.5).
    default = env.decide(Submission("grown", ["kid"], conversation_id="c"), IMAGE, nudity_scorer=positive)
    assert default["nudity"]["action"] == "blur_and_warn" and default["nudity"]["threshold"] == 0.5
    assert env.states["c"].evidence["sexual_content"] > 0.5


def test_client_bundles_carry_the_configured_nudity_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    from safeguard.client.export import policy_from_settings
    from safeguard.config import get_settings

    monkeypatch.setenv("SAFEGUARD_POLICY__NUDITY_THRESHOLD", "0.7")
    get_settings.cache_clear()
    try:
        assert policy_from_settings().nudity_threshold == 0.7
    finally:
        get_settings.cache_clear()


def test_a_nudity_threshold_outside_0_to_1_is_refused_by_name() -> None:
    from pydantic import ValidationError

    from safeguard.config import PolicyRules

    with pytest.raises(ValidationError, match="nudity_threshold"):
        PolicyRules(nudity_threshold=1.5)
    state = Detector(embeddings=False).new_conversation("c")
    with pytest.raises(ValueError, match="nudity_threshold must be in"):
        state.add_image_event(
            sender_id="grown", sender_age_band="adult", recipient_age_bands=["child"],
            nudity_score=0.9, nudity_threshold=-0.1,
        )
    assert state.image_events == []  # nothing recorded from the refused call
