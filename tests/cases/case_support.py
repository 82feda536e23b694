"""Shared helpers for the case, evidence, report and console tests.

A keyword detector stands in for the real one (fast, exact); phrases are at
the level of a safeguarding leaflet. Banked "media" is a benign conformance
photo identified by its SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from safeguard.accounts.keys import create_key
from safeguard.config import Settings
from safeguard.ingest.records import Message
from safeguard.server import create_app
from safeguard.store.db import session_scope

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pdq-conformance"
BENIGN_IMAGE = next(p for p in sorted(FIXTURES.rglob("*.jpg")))

PHRASES = {
    "how old are you": ("age_location_probe", 0.3, "friendship_forming"),
    "add me on snap": ("platform_move", 0.4, "exclusivity"),
    "our secret": ("secrecy", 0.4, "exclusivity"),
    "don't tell your mum": ("secrecy", 0.4, "exclusivity"),
    "send me a pic of you": ("image_request", 0.5, "sexual"),
    "meet up after school": ("meeting", 0.6, "meeting_compliance"),
    "or i will tell everyone": ("coercion", 0.7, "meeting_compliance"),
}


@dataclass(frozen=True)
class KwSignal:
    category: str
    message_index: int
    excerpt: str
    weight: float


@dataclass
class KwAssessment:
    risk: float
    signals: list[KwSignal]


@dataclass
class KwState:
    conversation_id: str
    risk: float = 0.0
    count: int = 0
    signals: list[KwSignal] = field(default_factory=list)
    stage: str | None = None
    author_scores: dict[str, float] = field(default_factory=dict)

    def add_message(self, message: Message) -> KwAssessment:
        text = message.text.lower()
        fired = [
            KwSignal(c, self.count, phrase, w) for phrase, (c, w, _s) in PHRASES.items() if phrase in text
        ]
        own = 1.0
        for signal in fired:
            own *= 1.0 - signal.weight
            self.stage = PHRASES[signal.excerpt][2]
        self.risk = 1.0 - (1.0 - self.risk) * own
        self.count += 1
        self.signals.extend(fired)
        self.author_scores[message.sender_id] = max(self.author_scores.get(message.sender_id, 0.0), self.risk)
        return KwAssessment(1.0 - own, fired)

    def to_dict(self) -> dict:
        return {
            "conversation_id": self.conversation_id,
            "risk": self.risk,
            "count": self.count,
            "signals": [vars(s) for s in self.signals],
            "stage": self.stage,
            "author_scores": self.author_scores,
        }


class KeywordDetector:
    threshold = 0.5

    def new_conversation(self, conversation_id: str) -> KwState:
        return KwState(conversation_id)

    def restore_conversation(self, data: dict) -> KwState:
        return KwState(
            data["conversation_id"],
            data["risk"],
            data["count"],
            [KwSignal(**s) for s in data["signals"]],
            data.get("stage"),
            dict(data["author_scores"]),
        )


def benign_sha256() -> str:
    return hashlib.sha256(BENIGN_IMAGE.read_bytes()).hexdigest()


@dataclass
class Harness:
    """An in-process service on one database, with keys for every scope."""

    client: TestClient
    url: str
    settings: Settings
    keys: dict[str, str]

    def auth(self, scope: str = "ingest") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def account(self, account_id: str, band: str) -> None:
        r = self.client.put(
            f"/v1/accounts/{account_id}",
            json={"age_band": band, "age_assurance": "verified"},
            headers=self.auth(),
        )
        assert r.status_code == 200, r.text

    def message(
        self, sender: str, recipients: list[str], text: str, *, mid: str, conv: str = "conv-1"
    ) -> dict:
        r = self.client.post(
            "/v1/messages",
            json={
                "conversation_id": conv,
                "message_id": mid,
                "sender_id": sender,
                "text": text,
                "recipient_ids": recipients,
            },
            headers=self.auth(),
        )
        assert r.status_code == 200, r.text
        return r.json()

    def media(self, sender: str, recipients: list[str], sha256: str, *, mid: str) -> dict:
        r = self.client.post(
            "/v1/media",
            json={"sender_id": sender, "recipient_ids": recipients, "sha256": sha256, "message_id": mid},
            headers=self.auth(),
        )
        assert r.status_code == 200, r.text
        return r.json()

    def report(self, **body: object) -> dict:
        r = self.client.post("/v1/reports", json=body, headers=self.auth())
        assert r.status_code == 201, r.text
        return r.json()

    def grooming_case(self, conv: str = "conv-1", child: str = "child-1", adult: str = "adult-1") -> str:
        """A conversation that escalates; returns the decision's case_id."""
        self.message(adult, [child], "hi how old are you", mid=f"{conv}-m1", conv=conv)
        self.message(child, [adult], "i am 12", mid=f"{conv}-m2", conv=conv)
        self.message(adult, [child], "add me on snap, it is our secret", mid=f"{conv}-m3", conv=conv)
        last = self.message(adult, [child], "let's meet up after school", mid=f"{conv}-m4", conv=conv)
        assert last["action"] == "escalate", last
        return last["case_id"]


def make_keys(url: str) -> dict[str, str]:
    keys = {}
    with session_scope(url) as session:
        for scope in ("ingest", "review", "admin"):
            keys[scope] = create_key(session, [scope], name=f"case-test-{scope}")[1]
    return keys


def bank_benign_image(url: str) -> str:
    """Put the benign stand-in photo's SHA-256 in a bank; returns the hash."""
    from safeguard.media.banks import import_rows
    from safeguard.media.importers import ImportRow

    digest = benign_sha256()
    with session_scope(url) as session:
        import_rows(
            session,
            "test-bank",
            [ImportRow("line 1", "sha256", digest, category="A1", source="test", external_id="e1")],
            create=True,
        )
    return digest


def build(url: str, **overrides: object) -> tuple[Harness, TestClient]:
    """A running app on ``url`` with demo accounts."""
    settings = Settings(database_url=url, **overrides)
    app = create_app(settings, detector=KeywordDetector())
    client = TestClient(app)
    client.__enter__()
    harness = Harness(client, url, settings, make_keys(url))
    for account_id, band in (
        ("child-1", "child"),
        ("child-2", "child"),
        ("adult-1", "adult"),
        ("adult-2", "adult"),
    ):
        harness.account(account_id, band)
    return harness, client
