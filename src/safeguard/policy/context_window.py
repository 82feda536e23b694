"""The context window of an escalated conversation: a few messages either side of each
flagged one, both parties, kept as the case's evidence.

Each process keeps a small ring of the last :data:`SIDE` messages of recent
conversations (bounded in conversations, least recently used dropped first, and
in text per message). When a message escalates, the ring and the message are
stored in ``conversation_context``; the next :data:`SIDE` messages of that
conversation are appended as they arrive. The rows follow the evidence rules:
kept as long as escalations, and never purged while a case of the conversation
is under legal hold (``policy.retention``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from typing import Any

from sqlalchemy.orm import Session

from safeguard.core.clock import utcnow
from safeguard.policy.models import ConversationContextRow

SIDE = 3  # messages kept either side of a flagged message
MAX_CONVERSATIONS = 10_000  # conversations whose last messages a process remembers
MAX_TEXT = 2_000  # characters of one message's text kept
MAX_STORED = 200  # messages kept in one conversation's stored window


class ContextRing:
    """The last :data:`SIDE` messages of recent conversations, and the open tails
    (conversations whose next messages are still appended to their stored window)."""

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS) -> None:
        self.max_conversations = max_conversations
        self._recent: OrderedDict[str, deque[dict]] = OrderedDict()
        self._tails: dict[str, int] = {}
        self._windows: OrderedDict[str, None] = OrderedDict()  # conversations with a stored window
        self._lock = threading.Lock()

    def push(self, conversation_id: str, entry: dict) -> list[dict]:
        """Remember ``entry``; the messages before it (a replayed message replaces itself)."""
        with self._lock:
            ring = self._recent.pop(conversation_id, None) or deque(maxlen=SIDE + 1)
            if ring and ring[-1]["message_id"] == entry["message_id"]:
                ring.pop()
            before = list(ring)[-SIDE:]
            ring.append(entry)
            self._recent[conversation_id] = ring
            while len(self._recent) > self.max_conversations:
                dropped, _ = self._recent.popitem(last=False)
                self._tails.pop(dropped, None)
            return before

    def open_tail(self, conversation_id: str) -> None:
        with self._lock:
            self._tails[conversation_id] = SIDE
            self._windows[conversation_id] = None
            self._windows.move_to_end(conversation_id)
            while len(self._windows) > self.max_conversations:
                self._windows.popitem(last=False)

    def has_window(self, conversation_id: str) -> bool:
        """Whether this process stored a window for the conversation (recently)."""
        with self._lock:
            return conversation_id in self._windows

    def tail(self, conversation_id: str) -> int:
        with self._lock:
            return self._tails.get(conversation_id, 0)

    def consume_tail(self, conversation_id: str) -> None:
        with self._lock:
            left = self._tails.get(conversation_id, 0) - 1
            if left > 0:
                self._tails[conversation_id] = left
            else:
                self._tails.pop(conversation_id, None)

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
            self._tails.clear()
            self._windows.clear()


RING = ContextRing()


def entry_of(event: Any, risk: float, flagged: bool) -> dict:
    """One message of a window: who wrote it, its text (bounded), its risk, whether it was flagged."""
    return {
        "message_id": str(event.message_id),
        "sender_id": str(event.sender_id),
        "text": str(event.text or "")[:MAX_TEXT],
        "risk": round(float(risk), 4),
        "flagged": bool(flagged),
        "at": utcnow().isoformat(),
    }


def observe(
    session_of: Any, event: Any, *, risk: float, flagged: bool, case_id: str | None, ring: ContextRing = RING
) -> None:
    """Remember the message; on escalation store the window, and append to an open tail.

    A later flagged message of a conversation whose window is stored (its case is
    already open, so it escalates nothing new) adds its own messages either side.

    ``session_of`` is a callable returning the writing session, called only when a
    row is written (so the common case needs no lock).
    """
    entry = entry_of(event, risk, flagged or bool(case_id))
    before = ring.push(event.conversation_id, entry)
    if case_id or (flagged and ring.has_window(event.conversation_id)):
        store(session_of(), event.conversation_id, [*before, entry], case_id)
        ring.open_tail(event.conversation_id)
    elif ring.tail(event.conversation_id):
        store(session_of(), event.conversation_id, [entry], None)
        ring.consume_tail(event.conversation_id)


def store(session: Session, conversation_id: str, entries: list[dict], case_id: str | None) -> None:
    """Merge ``entries`` into the conversation's stored window (by message id, in order)."""
    row = session.get(ConversationContextRow, conversation_id)
    window = dict(row.window) if row is not None else {"messages": [], "escalations": []}
    messages = {m["message_id"]: m for m in window.get("messages", [])}
    for entry in entries:
        old = messages.get(entry["message_id"])
        messages[entry["message_id"]] = {**entry, "flagged": entry["flagged"] or bool(old and old["flagged"])}
    window["messages"] = list(messages.values())[-MAX_STORED:]
    if case_id and case_id not in window.get("escalations", []):
        window["escalations"] = [*window.get("escalations", []), case_id]
    if row is None:
        row = ConversationContextRow(conversation_id=conversation_id, window=window, updated_at=utcnow())
        session.add(row)
    else:
        row.window = window
        row.updated_at = utcnow()


def window_of(session: Session, conversation_id: str | None) -> list[dict]:
    """The stored window of a conversation, each message with its running risk (the
    highest message risk so far), as the case page shows it."""
    if not conversation_id:
        return []
    row = session.get(ConversationContextRow, conversation_id)
    if row is None:
        return []
    running = 0.0
    out = []
    for index, message in enumerate(row.window.get("messages", [])):
        running = max(running, float(message.get("risk") or 0.0))
        out.append({**message, "index": index, "running_risk": round(running, 4)})
    return out


def risk_chart(messages: list[dict], width: int = 320, height: int = 80) -> str:
    """An inline SVG polyline of the running risk per message (server-rendered)."""
    if not messages:
        return ""
    step = width / max(len(messages) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - float(m['running_risk']) * height:.1f}" for i, m in enumerate(messages)
    )
    dots = "".join(
        f'<circle cx="{i * step:.1f}" cy="{height - float(m["risk"]) * height:.1f}" r="3" class="flag"/>'
        for i, m in enumerate(messages)
        if m.get("flagged")
    )
    return (
        f'<svg class="risk-chart" role="img" aria-label="running risk per message" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        f'<polyline fill="none" stroke="currentColor" stroke-width="2" points="{points}"/>{dots}</svg>'
    )
