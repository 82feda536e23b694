"""Accounts, visibility (F1), connections, connection requests and suggestions over HTTP."""

from __future__ import annotations

from api_support import Service

from safeguard.policy import texts


def test_put_account_round_trip(service: Service) -> None:
    response = service.client.put(
        "/v1/accounts/adult-9",
        json={"age_band": "adult", "age_assurance": "verified", "location": "York"},
        headers=service.auth(),
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": "adult-9",
        "age_band": "adult",
        "age_assurance": "verified",
        "location": "York",
        "location_hidden": False,
    }
    seen = service.client.get("/v1/accounts/adult-9?viewer_id=x", headers=service.auth("review"))
    assert seen.json()["location"] == "York"


def test_childs_location_is_never_shown_to_others(service: Service) -> None:
    service.client.put(
        "/v1/accounts/child-1",
        json={"age_band": "child", "age_assurance": "estimated", "location": "Leeds"},
        headers=service.auth(),
    )
    for query in ("", "?viewer_id=adult-1"):
        other = service.client.get(f"/v1/accounts/child-1{query}", headers=service.auth("review"))
        assert other.json()["location"] is None and other.json()["location_hidden"] is True
        assert "Leeds" not in other.text
    own = service.client.get("/v1/accounts/child-1?viewer_id=child-1", headers=service.auth())
    assert own.json()["location"] == "Leeds"


def test_unknown_account_is_404(service: Service) -> None:
    response = service.client.get("/v1/accounts/nobody", headers=service.auth("review"))
    assert response.status_code == 404
    assert response.json()["detail"] == "no account 'nobody'"


def test_childs_connection_list_is_hidden_and_children_left_out_of_others(
    service: Service,
) -> None:
    service.connect("adult-2", "adult-1")
    others = service.client.get(
        "/v1/accounts/child-1/connections?viewer_id=adult-1", headers=service.auth("review")
    ).json()
    assert others == {"account_id": "child-1", "connection_ids": [], "hidden": True}
    own = service.client.get(
        "/v1/accounts/child-1/connections?viewer_id=child-1", headers=service.auth("review")
    ).json()
    assert own["connection_ids"] == ["adult-2", "child-2"]
    adults = service.client.get(
        "/v1/accounts/adult-2/connections?viewer_id=adult-1", headers=service.auth("review")
    ).json()
    assert adults["connection_ids"] == ["adult-1"]
    as_child = service.client.get(
        "/v1/accounts/adult-2/connections?viewer_id=child-1", headers=service.auth("review")
    ).json()
    assert as_child["connection_ids"] == ["adult-1", "child-1"]


def test_delete_connection_restores_confirmation_rule(service: Service) -> None:
    assert service.message("adult-2", ["child-1"], "hi", message_id="m1")["action"] == "allow"
    response = service.client.delete("/v1/connections/child-1/adult-2", headers=service.auth())
    assert response.json() == {"a": "child-1", "b": "adult-2", "connected": False}
    again = service.message("adult-2", ["child-1"], "hi", message_id="m2", conversation_id="c2")
    assert again["action"] == "require_confirmation"


def test_self_connection_is_400_naming_the_field(service: Service) -> None:
    response = service.client.put("/v1/connections/a/a", headers=service.auth())
    assert response.status_code == 400
    assert response.json() == {"detail": "field 'b': an account cannot connect to itself", "field": "b"}


def test_connection_request_adult_to_child(service: Service) -> None:
    response = service.client.post(
        "/v1/connection-requests",
        json={"requester_id": "adult-1", "target_id": "child-1"},
        headers=service.auth(),
    )
    body = response.json()
    assert body["action"] == "require_confirmation"
    assert body["warn_recipient"] == texts.UNKNOWN_REQUEST
    assert [r["code"] for r in body["reasons"]] == ["adult_to_minor_request"]
    connected = service.client.post(
        "/v1/connection-requests",
        json={"requester_id": "adult-2", "target_id": "child-1"},
        headers=service.auth(),
    ).json()
    assert connected["action"] == "allow"


def test_connection_request_from_risky_account_is_held(service: Service) -> None:
    service.client.put(
        "/v1/accounts/adult-1",
        json={"age_band": "adult", "age_assurance": "verified", "declared_age_band": "teen"},
        headers=service.auth(),
    )
    body = service.client.post(
        "/v1/connection-requests",
        json={"requester_id": "adult-1", "target_id": "teen-1"},
        headers=service.auth(),
    ).json()
    assert body["action"] == "hold"
    assert [r["code"] for r in body["reasons"]] == ["account_risk_hold", "age_mismatch"]


def test_suggestions_filter(service: Service) -> None:
    response = service.client.post(
        "/v1/suggestions/filter",
        json={"viewer_id": "adult-1", "candidate_ids": ["child-1", "teen-1", "adult-2", "new"]},
        headers=service.auth(),
    )
    assert response.status_code == 200
    assert response.json()["allowed_ids"] == ["adult-2", "new"]
    child = service.client.post(
        "/v1/suggestions/filter",
        json={"viewer_id": "child-1", "candidate_ids": ["child-2", "adult-1"]},
        headers=service.auth(),
    ).json()
    assert child["allowed_ids"] == []


def test_child_network_suggestions_can_be_enabled(make_service) -> None:  # type: ignore[no-untyped-def]
    svc = make_service(policy={"child_network_suggestions": True})
    svc.put_account("k1", "child")
    svc.put_account("k2", "child")
    svc.put_account("a", "adult")
    svc.connect("k1", "k2")
    body = svc.client.post(
        "/v1/suggestions/filter",
        json={"viewer_id": "k1", "candidate_ids": ["k2", "a"]},
        headers=svc.auth(),
    ).json()
    assert body["allowed_ids"] == ["k2"]
