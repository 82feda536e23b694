"""Accounts, connections, API keys and account-level risk against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from safeguard.accounts import service as accounts
from safeguard.accounts.keys import create_key, list_keys, revoke_key, verify_key
from safeguard.accounts.models import ApiKey, ContactEvent
from safeguard.accounts.risk import AccountRiskInputs, score_account
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.errors import InputError
from safeguard.store.db import session_scope

SETTINGS = Settings()


def test_keys_are_stored_hashed_and_can_be_revoked(db_url: str) -> None:
    with session_scope(db_url) as session:
        info, secret = create_key(session, ["ingest", "review"], name="ci")
    with session_scope(db_url) as session:
        stored = session.execute(select(ApiKey)).scalar_one()
        assert secret not in (stored.key_hash, stored.id, stored.scopes)
        assert len(stored.key_hash) == 64
        found = verify_key(session, secret)
        assert found is not None and found.scopes == ("ingest", "review")
        assert found.allows("review") and not found.allows("admin")
        assert verify_key(session, secret + "x") is None
        revoke_key(session, info.id)
    with session_scope(db_url) as session:
        assert verify_key(session, secret) is None
        assert [k.revoked_at is not None for k in list_keys(session)] == [True]


def test_bad_scope_and_unknown_key_are_input_errors(db_url: str) -> None:
    with session_scope(db_url) as session:
        with pytest.raises(InputError, match="unknown scope 'root'"):
            create_key(session, ["root"])
        with pytest.raises(InputError, match="no API key"):
            revoke_key(session, "missing")


def test_admin_key_allows_every_scope(db_url: str) -> None:
    with session_scope(db_url) as session:
        info, _ = create_key(session, ["admin"])
    assert all(info.allows(s) for s in ("ingest", "review", "admin"))


def test_upsert_account_remembers_declared_band(db_url: str) -> None:
    with session_scope(db_url) as session:
        accounts.upsert_account(session, "x", age_band="teen", settings=SETTINGS)
        accounts.upsert_account(session, "x", age_band="adult", age_assurance="verified", settings=SETTINGS)
    with session_scope(db_url) as session:
        account = accounts.get_account(session, "x")
        assert (account.age_band, account.age_assurance, account.declared_age_band) == (
            "adult",
            "verified",
            "teen",
        )
        risk = accounts.account_risk(session, "x", SETTINGS)
        assert [r.code for r in risk.reasons] == ["age_mismatch"]
        assert risk.risk == pytest.approx(SETTINGS.account_risk.weight_age_mismatch)


def test_account_input_is_validated(db_url: str) -> None:
    with session_scope(db_url) as session, pytest.raises(InputError, match="age_band"):
        accounts.upsert_account(session, "x", age_band="toddler", settings=SETTINGS)


def test_connections_are_symmetric_and_idempotent(db_url: str) -> None:
    with session_scope(db_url) as session:
        accounts.set_connection(session, "b", "a")
        accounts.set_connection(session, "a", "b")
        accounts.set_connection(session, "a", "c")
    with session_scope(db_url) as session:
        assert accounts.list_connections(session, "a") == ["b", "c"]
        assert accounts.connected_among(session, "b", ["a", "c"]) == {"a"}
        assert accounts.remove_connection(session, "b", "a") is True
        assert accounts.remove_connection(session, "b", "a") is False
        assert accounts.list_connections(session, "a") == ["c"]
        with pytest.raises(InputError, match="itself"):
            accounts.set_connection(session, "a", "a")


def test_fan_out_to_unconnected_minors_is_named(db_url: str) -> None:
    limit = SETTINGS.account_risk.max_unconnected_minors
    with session_scope(db_url) as session:
        first = [f"child-{i}" for i in range(limit - 1)]
        assert accounts.record_contacts(session, "adult", first, SETTINGS) is True
        # A repeat is not a new distinct minor: risk cannot have changed.
        assert accounts.record_contacts(session, "adult", ["child-0"], SETTINGS) is False
        assert accounts.account_risk(session, "adult", SETTINGS).reasons == []
        assert accounts.record_contacts(session, "adult", ["child-new"], SETTINGS) is True
        risk = accounts.account_risk(session, "adult", SETTINGS)
    assert [r.code for r in risk.reasons] == ["fan_out_to_minors"]
    assert f"contacted {limit} distinct unconnected minors" in risk.reasons[0].detail


def test_fan_out_window_forgets_old_contacts(db_url: str) -> None:
    with session_scope(db_url) as session:
        accounts.record_contacts(session, "adult", [f"child-{i}" for i in range(6)], SETTINGS)
        session.flush()
        session.execute(update(ContactEvent).values(at=utcnow() - timedelta(hours=25)))
        assert accounts.account_risk(session, "adult", SETTINGS).risk == 0.0


def test_repeated_platform_move_across_conversations(db_url: str) -> None:
    with session_scope(db_url) as session:
        assert accounts.record_signals(session, "a", "conv-1", ["platform_move"]) is True
        assert accounts.record_signals(session, "a", "conv-1", ["platform_move"]) is False
        assert accounts.account_risk(session, "a", SETTINGS).reasons == []
        assert accounts.record_signals(session, "a", "conv-2", ["platform_move", "secrecy"])
        risk = accounts.account_risk(session, "a", SETTINGS)
    assert [r.code for r in risk.reasons] == ["repeated_platform_move"]
    cached = None
    with session_scope(db_url) as session:
        cached = accounts.cached_account_risk(session, "a")
    assert cached.risk == risk.risk and cached.reasons == risk.reasons


def test_scores_combine_as_independent_evidence() -> None:
    limits = SETTINGS.account_risk
    everything = AccountRiskInputs(
        "a",
        unconnected_minors_in_window=9,
        signal_conversations={"platform_move": 3, "secrecy": 2},
        declared_age_band="teen",
        age_band="adult",
        age_assurance="verified",
        media_matches=1,
    )
    risk = score_account(everything, limits)
    assert [r.code for r in risk.reasons] == [
        "fan_out_to_minors",
        "repeated_platform_move",
        "repeated_secrecy",
        "age_mismatch",
        "shared_known_media",
    ]
    assert 0.99 < risk.risk < 1.0
    assert score_account(AccountRiskInputs("b"), limits).risk == 0.0
    self_declared_adult = AccountRiskInputs("c", declared_age_band="teen", age_band="adult")
    assert score_account(self_declared_adult, limits).reasons == []
