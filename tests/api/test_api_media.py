"""POST /v1/media: upload (hashed in memory) or hash-only -> bank matches -> decision.

Benign conformance photos stand in for banked media (see the data rules).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from api_support import Service
from sqlalchemy import select

from safeguard.media import banks
from safeguard.media.hashing import hash_image_bytes
from safeguard.policy.models import EscalationRow
from safeguard.store.db import session_scope

PHOTOS = Path("/work/shared/data/pdq-conformance/bridge-mods")
ORIGINAL = PHOTOS / "aaa-orig.jpg"
pytestmark = pytest.mark.skipif(not ORIGINAL.is_file(), reason="conformance photos missing")


@pytest.fixture
def banked(service: Service, tmp_path: Path) -> Service:
    """The original photo's PDQ and SHA-256 in a bank."""
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
