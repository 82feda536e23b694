"""POST /v1/media: upload (hashed in memory) or hash-only -> bank matches -> decision,
and nudity protection when a child or teen account takes part.

Benign conformance photos stand in for banked media (see the data rules); nudity
tests use benign drawn images and a stub scorer for positives.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from api_support import Service
from PIL import Image, ImageDraw
from sqlalchemy import select

from safeguard.media import banks, nudity
from safeguard.media.hashing import hash_image_bytes
from safeguard.policy.models import ConversationRow, EscalationRow
from safeguard.store.db import session_scope

PHOTOS = Path("/work/shared/data/pdq-conformance/bridge-mods")
ORIGINAL = PHOTOS / "aaa-orig.jpg"


@pytest.fixture
def banked(service: Service, tmp_path: Path) -> Service:
    """The original photo's PDQ and SHA-256 in a bank."""
    if not ORIGINAL.is_file():
        pytest.skip("conformance photos missing")
    data = ORIGINAL.read_bytes()
    pdq = hash_image_bytes(data).pdq
    csv = tmp_path / "bank.csv"
    csv.write_text(f"hash,signal_type\n{pdq},pdq\n{hashlib.sha256(data).hexdigest()},sha256\n")
    with session_scope(service.url) as session:
        banks.import_file(session, "test-bank", csv, create=True)
    from safeguard.media.matching import clear_index_cache

    clear_index_cache()
    return service


def test_upload_of_a_near_duplicate_blocks_and_escalates(banked: Service) -> None:
    photo = (PHOTOS / "blur-a-little.jpg").read_bytes()
    response = banked.client.post(
        "/v1/media",
        files={"file": ("x.jpg", photo, "image/jpeg")},
        data={"sender_id": "adult-1", "recipient_ids": "child-1,child-2", "message_id": "m1"},
        headers=banked.auth(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"] == "escalate"
    assert body["hashes"]["sha256"] == hashlib.sha256(photo).hexdigest()
    assert [m["bank"] for m in body["matches"]] == ["test-bank"]
    assert body["matches"][0]["signal_type"] == "pdq" and body["matches"][0]["distance"] <= 31
    assert [r["code"] for r in body["reasons"]] == ["hash_bank_match"]
    with session_scope(banked.url) as session:
        case = session.get(EscalationRow, body["case_id"])
        assert case.kind == "media" and case.priority == 0
        assert case.recipient_ids == ["child-1", "child-2"]
        assert "file" not in case.evidence and case.evidence["hashes"]["pdq"]
    risk = banked.client.get("/v1/accounts/adult-1/risk", headers=banked.auth("review")).json()
    assert [r["code"] for r in risk["reasons"]] == ["shared_known_media"]


def test_hash_only_submission_matches_exactly(banked: Service) -> None:
    sha = hashlib.sha256(ORIGINAL.read_bytes()).hexdigest()
    response = banked.client.post(
        "/v1/media", json={"sender_id": "adult-1", "sha256": sha}, headers=banked.auth()
    )
    body = response.json()
    assert body["action"] == "escalate"
    assert body["matches"][0]["signal_type"] == "sha256"
    assert body["matches"][0]["distance"] == 0


def test_unrelated_media_is_allowed_and_nothing_is_kept(banked: Service) -> None:
    response = banked.client.post(
        "/v1/media", json={"sender_id": "adult-1", "md5": "0" * 32}, headers=banked.auth()
    )
    assert response.json() == {
        "action": "allow",
        "hashes": {"pdq": None, "pdq_quality": None, "md5": "0" * 32, "sha256": None, "too_weak": False},
        "matches": [],
        "reasons": [],
        "case_id": None,
    }
    with session_scope(banked.url) as session:
        assert session.execute(select(EscalationRow)).first() is None


def test_bad_media_requests_name_the_problem(service: Service) -> None:
    no_hash = service.client.post("/v1/media", json={"sender_id": "a"}, headers=service.auth())
    assert no_hash.status_code == 422
    assert "at least one of pdq, md5, sha256" in no_hash.json()["detail"]
    bad_hex = service.client.post(
        "/v1/media", json={"sender_id": "a", "md5": "z" * 32}, headers=service.auth()
    )
    assert bad_hex.status_code == 422 and "md5" in bad_hex.json()["detail"]
    not_image = service.client.post(
        "/v1/media",
        files={"file": ("x.jpg", b"not an image", "image/jpeg")},
        data={"sender_id": "a"},
        headers=service.auth(),
    )
    assert not_image.status_code == 422 and "file" in not_image.json()["detail"]
    wrong_type = service.client.post(
        "/v1/media", content=b"x", headers={**service.auth(), "content-type": "text/plain"}
    )
    assert wrong_type.status_code == 415


# --------------------------------------------------------------------------- nudity (child accounts)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def drawn() -> bytes:
    image = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 140, 120), fill="red")
    draw.ellipse((160, 60, 300, 200), fill="blue")
    return png(image)


IMAGE = drawn()


def positive(_rgb: np.ndarray) -> float:
    return 0.93


def negative(_rgb: np.ndarray) -> float:
    return 0.02


def upload(svc: Service, sender: str, recipients: str, data: bytes = IMAGE, **fields: str):  # type: ignore[no-untyped-def]
    return svc.client.post(
        "/v1/media",
        files={"file": ("x.png", data, "image/png")},
        data={"sender_id": sender, "recipient_ids": recipients, **fields},
        headers=svc.auth(),
    )


@pytest.fixture
def scored(service: Service) -> Iterator[Service]:
    """The service with a stub nudity scorer that flags every image."""
    service.client.app.state.nudity_scorer = positive
    yield service
    del service.client.app.state.nudity_scorer


def test_child_upload_of_a_flagged_image_warns_before_sending(scored: Service) -> None:
    response = upload(scored, "child-1", "adult-1", message_id="m1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"] == "require_confirmation" and body["case_id"] is None
    nude = body["nudity"]
    assert (nude["action"], nude["score"], nude["source"]) == ("warn_before_send", 0.93, "server")
    assert nude["text"] == nudity.SENDER_TEXT and nude["recipient_actions"] == {"adult-1": "allow"}
    assert [r["code"] for r in body["reasons"]] == ["nudity_outgoing_minor"]
    assert body["hashes"]["pdq"] == hash_image_bytes(IMAGE).pdq


def test_upload_to_children_is_blurred_for_them(scored: Service) -> None:
    body = upload(scored, "adult-1", "child-1,adult-2,teen-1").json()
    nude = body["nudity"]
    assert nude["action"] == "blur_and_warn" and nude["text"] == nudity.RECIPIENT_TEXT
    assert nude["recipient_actions"] == {
        "child-1": "blur_and_warn", "adult-2": "allow", "teen-1": "blur_and_warn"
    }
    assert body["action"] == "warn_recipient"
    assert {r["code"] for r in body["reasons"]} == {"nudity_incoming_minor", "nudity_from_adult_to_minor"}


def test_negative_image_is_allowed(service: Service) -> None:
    service.client.app.state.nudity_scorer = negative
    body = upload(service, "child-1", "child-2").json()
    assert body["action"] == "allow" and body["reasons"] == []
    assert body["nudity"]["action"] == "allow" and body["nudity"]["score"] == 0.02


def test_adults_only_uploads_are_not_screened(scored: Service) -> None:
    body = upload(scored, "adult-1", "adult-2").json()
    assert body["action"] == "allow" and "nudity" not in body


def test_hash_only_submission_with_a_device_nudity_score(service: Service) -> None:
    sent = {"sender_id": "adult-1", "recipient_ids": ["child-1"], "pdq": hash_image_bytes(IMAGE).pdq}
    response = service.client.post("/v1/media", json={**sent, "nudity_score": 0.81}, headers=service.auth())
    body = response.json()
    assert body["action"] == "warn_recipient"
    assert body["nudity"]["action"] == "blur_and_warn" and body["nudity"]["source"] == "device"
    low = service.client.post("/v1/media", json={**sent, "nudity_score": 0.2}, headers=service.auth()).json()
    assert low["action"] == "allow" and low["nudity"]["action"] == "allow"


@pytest.mark.parametrize("score", ["1.5", "-0.1", '"high"', "NaN", "true"])
def test_invalid_nudity_score_names_the_field(service: Service, score: str) -> None:
    raw = f'{{"sender_id": "child-1", "md5": "{"0" * 32}", "nudity_score": {score}}}'
    response = service.client.post(
        "/v1/media", content=raw, headers={**service.auth(), "content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("field 'nudity_score': ")


def test_without_the_nudity_extra_media_to_a_child_is_blurred_with_a_reason(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nudity, "nudity_available", lambda: False)
    response = upload(service, "adult-1", "child-1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"] == "warn_recipient" and body["nudity"]["screened"] is False
    assert [r["code"] for r in body["reasons"]] == ["nudity_unavailable"]
    assert "not screened" in body["reasons"][0]["detail"]


def test_conversation_id_with_a_detector_without_image_events(scored: Service) -> None:
    """The API tests' fake detector has no ``add_image_event``: the media is still decided."""
    response = upload(scored, "adult-1", "child-1", conversation_id="conv-img")
    assert response.status_code == 200, response.text
    assert response.json()["nudity"]["action"] == "blur_and_warn"
    bad = upload(scored, "adult-1", "child-1", conversation_id="x" * 129)
    assert bad.status_code == 422 and "conversation_id" in bad.json()["detail"]


def test_bank_match_takes_precedence_over_nudity(banked: Service) -> None:
    banked.client.app.state.nudity_scorer = positive
    photo = (PHOTOS / "blur-a-little.jpg").read_bytes()
    body = upload(banked, "adult-1", "child-1", photo).json()
    assert body["action"] == "escalate" and "nudity" not in body
    assert [r["code"] for r in body["reasons"]] == ["hash_bank_match"]


# --------------------------------------------------------------------------- no writes


def noise() -> bytes:
    """Random pixels: a benign PNG over 1 MiB (Starlette spools larger uploads to disk by default)."""
    pixels = np.random.default_rng(7).integers(0, 256, (720, 720, 3), dtype=np.uint8)
    data = png(Image.fromarray(pixels))
    assert len(data) > 1024 * 1024
    return data


@contextmanager
def no_file_writes(folder: Path) -> Iterator[list[str]]:
    """TMPDIR in ``folder``; opening a file for writing, or any temp file, fails and is listed."""
    attempts: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if any(flag in mode for flag in "wax+"):
            attempts.append(f"open({file!r}, {mode!r})")
            raise AssertionError(f"tried to write {file!r}")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            attempts.append(f"os.open({path!r})")
            raise AssertionError(f"tried to write {path!r}")
        return real_os_open(path, flags, *args, **kwargs)

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append("temporary file")
        raise AssertionError("tried to create a temporary file")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", str(folder))
        mp.setattr(tempfile, "tempdir", str(folder))
        mp.setattr(builtins, "open", guarded_open)
        mp.setattr(io, "open", guarded_open)
        mp.setattr(os, "open", guarded_os_open)
        for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile"):
            mp.setattr(tempfile, name, refuse)
        mp.setattr(Image.Image, "save", refuse)
        yield attempts


@pytest.mark.parametrize("scorer", ["stub", "nudenet"])
def test_api_upload_writes_no_file(service: Service, tmp_path: Path, scorer: str) -> None:
    if scorer == "nudenet":
        if not nudity.nudity_available():
            pytest.skip("the optional 'nudity' extra is not installed")
        model = nudity.default_scorer()
        model._load()  # loading the model reads files; done before the guard
        service.client.app.state.nudity_scorer = model
    else:
        service.client.app.state.nudity_scorer = positive
    images = [IMAGE, noise()]
    folder = tmp_path / "empty"
    folder.mkdir()
    with no_file_writes(folder) as attempts:
        responses = [upload(service, "adult-1", "child-1", data, conversation_id="c-nw") for data in images]
    assert attempts == [] and list(folder.iterdir()) == []
    for response in responses:
        assert response.status_code == 200, response.text
        assert "nudity" in response.json()
    with session_scope(service.url) as session:  # only hashes and decisions reached the store
        for row in session.execute(select(ConversationRow)).scalars():
            assert "png" not in str(row.state).lower()
