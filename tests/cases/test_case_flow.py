"""Escalations, user reports and appeals become cases; reviewers decide; outcomes feed training."""

from __future__ import annotations

import csv
import io

from case_support import Harness, bank_benign_image
from sqlalchemy import select

from safeguard.accounts.keys import create_key
from safeguard.evidence.models import EvidenceRecord
from safeguard.store.db import session_scope


def _queue(h: Harness, **params: object) -> dict:
    r = h.client.get("/v1/cases", params=params, headers=h.auth("review"))
    assert r.status_code == 200, r.text
    return r.json()


def test_escalation_opens_a_case_with_its_evidence(harness: Harness) -> None:
    case_id = harness.grooming_case()
    queue = _queue(harness)
    assert [c["id"] for c in queue["cases"]] == [case_id]
    case = queue["cases"][0]
    assert case["kind"] == "grooming" and case["source"] == "automated"
    assert case["child_involved"] is True
    assert case["surface"] == "dm"
    assert case["categories"][0] == "meeting"
    detail = harness.client.get(f"/v1/cases/{case_id}", headers=harness.auth("review")).json()
    excerpts = {s["excerpt"] for s in detail["signals"]}
    assert {"add me on snap", "our secret", "meet up after school"} <= excerpts
    flagged = [m for m in detail["conversation"] if m["signals"]]
    assert [m["index"] for m in flagged] == [0, 2, 3]
    assert detail["contacts_with_children"]["unconnected_minors_contacted"][0]["account_id"] == "child-1"
    assert detail["case"]["first_reviewed_at"] is not None
    assert detail["account"]["age_band"] == "adult"
    assert detail["account"]["unconnected"] == ["child-1"]
    assert detail["account"]["unconnected_minors_contacted"] == 1


def test_later_escalations_join_the_open_case(harness: Harness) -> None:
    case_id = harness.grooming_case()
    again = harness.message("adult-1", ["child-1"], "remember, our secret", mid="conv-1-m5")
    assert again["action"] == "escalate" and again["case_id"] != case_id
    queue = _queue(harness)
    assert queue["total"] == 1
    detail = harness.client.get(f"/v1/cases/{again['case_id']}", headers=harness.auth("review"))
    assert detail.status_code == 200
    assert detail.json()["case"]["id"] == case_id
    actions = [r["action"] for r in detail.json()["timeline"]]
    assert actions.count("case_opened") == 1 and actions.count("evidence_added") == 1


def test_queue_is_sorted_and_filtered(harness: Harness) -> None:
    sha = bank_benign_image(harness.url)
    grooming = harness.grooming_case()
    harness.account("adult-3", "adult")
    report = harness.report(
        reporter_id="adult-2", target_type="account", target_id="adult-3", reason="harassment"
    )["case_id"]
    media = harness.media("adult-2", [], sha, mid="img-1")["case_id"]
    ids = [c["id"] for c in _queue(harness)["cases"]]
    assert ids == [grooming, media, report]
    assert [c["id"] for c in _queue(harness, kind="media_match")["cases"]] == [media]
    assert [c["id"] for c in _queue(harness, surface="public")["cases"]] == [media]
    assert [c["id"] for c in _queue(harness, source="user_report")["cases"]] == [report]
    assert [c["id"] for c in _queue(harness, child_involved=True)["cases"]] == [grooming]
    assert [c["id"] for c in _queue(harness, category="meeting")["cases"]] == [grooming]


def test_a_child_can_report_a_message(harness: Harness) -> None:
    harness.message("adult-2", ["child-2"], "send me a pic of you", mid="m-pic", conv="conv-9")
    created = harness.report(
        reporter_id="child-2",
        target_type="message",
        target_id="m-pic",
        reason="image_request",
        details="they keep asking for photos",
    )
    assert set(created) == {"case_id", "status"}
    queue = _queue(harness, source="user_report")
    case = queue["cases"][0]
    assert case["subject_account_id"] == "adult-2"
    assert case["reporter_id"] == "child-2"
    assert case["child_involved"] is True
    assert case["conversation_id"] == "conv-9"
    assert case["categories"] == ["image_request"]


def test_report_validation(harness: Harness) -> None:
    bad = harness.client.post(
        "/v1/reports",
        json={
            "reporter_id": "child-1",
            "target_type": "conversation",
            "target_id": "nope",
            "reason": "other",
        },
        headers=harness.auth(),
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "account_id"
    wrong = harness.client.post(
        "/v1/reports",
        json={"reporter_id": "c", "target_type": "account", "target_id": "a", "reason": "made-up"},
        headers=harness.auth(),
    )
    assert wrong.status_code == 422


def test_decisions_notes_and_reassignment(harness: Harness) -> None:
    case_id = harness.grooming_case()
    review = harness.auth("review")
    assert harness.client.post(
        f"/v1/cases/{case_id}/notes", json={"text": "clear pattern"}, headers=review
    ).is_success
    assigned = harness.client.put(f"/v1/cases/{case_id}/assignee", json={"assignee": "rev-2"}, headers=review)
    assert assigned.json()["assignee"] == "rev-2"
    decided = harness.client.post(
        f"/v1/cases/{case_id}/decisions", json={"decision": "ban", "note": "grooming"}, headers=review
    )
    assert decided.status_code == 200
    body = decided.json()
    assert body["status"] == "closed" and body["decision"] == "ban" and body["decided_at"]
    reported = harness.client.post(
        f"/v1/cases/{case_id}/decisions", json={"decision": "report_ncmec"}, headers=review
    ).json()
    assert [a["decision"] for a in reported["actions"]] == ["ban", "report_ncmec"]
    assert reported["reported_at"]
    appeal_only = harness.client.post(
        f"/v1/cases/{case_id}/decisions", json={"decision": "uphold"}, headers=review
    )
    assert appeal_only.status_code == 400
    assert _queue(harness)["total"] == 0
    assert _queue(harness, status="closed")["total"] == 1
    missing = harness.client.post("/v1/cases/nope/decisions", json={"decision": "ban"}, headers=review)
    assert missing.status_code == 404


def test_every_view_and_decision_is_audited(harness: Harness) -> None:
    case_id = harness.grooming_case()
    review = harness.auth("review")
    key_id = harness.keys["review"].split("_")[1]
    harness.client.get(f"/v1/cases/{case_id}", headers=review)
    harness.client.post(f"/v1/cases/{case_id}/decisions", json={"decision": "warn"}, headers=review)
    harness.client.get(f"/v1/cases/{case_id}/reports/nca", headers=review)
    with session_scope(harness.url) as session:
        rows = session.execute(
            select(EvidenceRecord.action, EvidenceRecord.actor).where(EvidenceRecord.case_id == case_id)
        ).all()
    mine = [action for action, actor in rows if actor == f"key:{key_id}"]
    assert mine == ["view_case", "decision", "export_report"]
    verify = harness.client.get("/v1/audit/verify", headers=harness.auth("admin")).json()
    assert verify["ok"] is True


def test_appeals(harness: Harness) -> None:
    case_id = harness.grooming_case()
    review = harness.auth("review")
    early = harness.client.post(
        "/v1/appeals",
        json={"account_id": "adult-1", "case_id": case_id, "statement": "I was helping"},
        headers=harness.auth(),
    )
    assert early.status_code == 400
    harness.client.post(f"/v1/cases/{case_id}/decisions", json={"decision": "suspend"}, headers=review)
    stranger = harness.client.post(
        "/v1/appeals",
        json={"account_id": "adult-2", "case_id": case_id, "statement": "x"},
        headers=harness.auth(),
    )
    assert stranger.status_code == 400
    appeal = harness.client.post(
        "/v1/appeals",
        json={"account_id": "adult-1", "case_id": case_id, "statement": "I was helping"},
        headers=harness.auth(),
    )
    assert appeal.status_code == 201
    appeal_id = appeal.json()["case_id"]
    queue = _queue(harness, kind="appeal")
    assert [c["appeal_of"] for c in queue["cases"]] == [case_id]
    wrong = harness.client.post(f"/v1/cases/{appeal_id}/decisions", json={"decision": "ban"}, headers=review)
    assert wrong.status_code == 400
    same = harness.client.post(
        f"/v1/cases/{appeal_id}/decisions", json={"decision": "overturn"}, headers=review
    )
    assert same.status_code == 400 and "reviewer other than" in same.text
    with session_scope(harness.url) as session:
        second = {"Authorization": f"Bearer {create_key(session, ['review'], name='second-reviewer')[1]}"}
    harness.client.post(f"/v1/cases/{appeal_id}/decisions", json={"decision": "overturn"}, headers=second)
    original = harness.client.get(f"/v1/cases/{case_id}", headers=review).json()["case"]
    assert original["decision"] == "overturned"
    missing = harness.client.post(
        "/v1/appeals", json={"account_id": "a", "case_id": "nope", "statement": "x"}, headers=harness.auth()
    )
    assert missing.status_code == 404


def test_legal_hold_via_api(harness: Harness) -> None:
    case_id = harness.grooming_case()
    held = harness.client.put(
        f"/v1/cases/{case_id}/legal-hold", json={"legal_hold": True}, headers=harness.auth("admin")
    )
    assert held.status_code == 200 and held.json()["legal_hold"] is True


def test_outcomes_export_as_training_examples(lite: Harness, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from safeguard.cli import app
    from safeguard.config import get_settings
    from safeguard.ingest.csv_records import read_csv_records

    confirmed = lite.grooming_case("conv-a")
    dismissed = lite.grooming_case("conv-b", child="child-2", adult="adult-2")
    review = lite.auth("review")
    lite.client.post(f"/v1/cases/{confirmed}/decisions", json={"decision": "ban"}, headers=review)
    lite.client.post(f"/v1/cases/{dismissed}/decisions", json={"decision": "dismiss"}, headers=review)
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", lite.url)
    get_settings.cache_clear()
    out = tmp_path / "feedback.csv"
    result = CliRunner().invoke(app, ["cases", "export-feedback", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    assert rows[confirmed]["label"] == "1" and rows[dismissed]["label"] == "0"
    assert "meet up after school" in rows[confirmed]["text"]
    records = list(read_csv_records(str(out), text_column="text", id_column="id", label_column="label"))
    assert {r.id: r.label for r in records} == {confirmed: 1, dismissed: 0}
    jsonl = CliRunner().invoke(app, ["cases", "export-feedback", "--format", "jsonl"])
    assert jsonl.exit_code == 0 and jsonl.output.count("\n") == 2


def test_group_surface_and_minimal_evidence(harness: Harness) -> None:
    harness.message("adult-1", ["child-1", "child-2"], "hi how old are you", mid="g1", conv="group-1")
    last = harness.message(
        "adult-1",
        ["child-1", "child-2"],
        "our secret, add me on snap: let's meet up after school",
        mid="g2",
        conv="group-1",
    )
    assert last["action"] == "escalate"
    case = _queue(harness)["cases"][0]
    assert case["surface"] == "group"
    assert case["recipient_ids"] == ["child-1", "child-2"]
    with session_scope(harness.url) as session:
        payloads = session.execute(
            select(EvidenceRecord.payload).where(EvidenceRecord.case_id == case["id"])
        ).scalars()
        stored = " ".join(p or "" for p in payloads)
    assert "meet up after school" in stored
    assert "let's meet up after school" not in stored
    assert "hi how old are you" not in stored
