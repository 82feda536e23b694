"""Demo data for `safeguard demo`: a few children, teens and adults, and their connections."""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.accounts import service as accounts
from safeguard.config import Settings, get_settings
from safeguard.store.db import session_scope

DEMO_ACCOUNTS: tuple[tuple[str, str, str, str | None], ...] = (
    # id, age band, assurance, location
    ("child-amy", "child", "estimated", "Leeds"),
    ("child-ben", "child", "verified", "Bristol"),
    ("teen-cara", "teen", "estimated", "Cardiff"),
    ("teen-dev", "teen", "self_declared", None),
    ("adult-erin", "adult", "verified", "Leeds"),
    ("adult-finn", "adult", "verified", None),
    ("adult-gus", "adult", "estimated", None),
)
DEMO_CONNECTIONS = (
    ("child-amy", "child-ben"),
    ("child-amy", "adult-erin"),  # a parent
    ("teen-cara", "teen-dev"),
    ("adult-erin", "adult-finn"),
)


def _load(session: Session, settings: Settings) -> int:
    for account_id, band, assurance, location in DEMO_ACCOUNTS:
        accounts.upsert_account(
            session,
            account_id,
            age_band=band,
            age_assurance=assurance,
            location=location,
            settings=settings,
        )
    # A self-declared teen whose estimated age is adult: an age mismatch.
    accounts.upsert_account(
        session,
        "adult-gus",
        age_band="adult",
        age_assurance="estimated",
        declared_age_band="teen",
        settings=settings,
    )
    for a, b in DEMO_CONNECTIONS:
        accounts.set_connection(session, a, b)
    return len(DEMO_ACCOUNTS)


def load_demo_data(session_or_url: Session | str | None = None) -> int:
    """Load the demo accounts and connections (idempotent); returns the account count."""
    settings = get_settings()
    if isinstance(session_or_url, Session):
        return _load(session_or_url, settings)
    with session_scope(session_or_url) as session:
        return _load(session, settings)
