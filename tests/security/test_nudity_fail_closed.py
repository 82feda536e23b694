"""An image that could not be screened is never silently allowed for a child (issue 15, item 3).

A benign photo pasted onto a 100000x256 black canvas made NudeNet's allocation
fail; the error was caught and the answer was ``allow`` with
``nudity_unavailable``. Now, when a child or teen takes part, an unscreened
image gets the protective action (``blur_and_warn`` a child recipient,
``warn_before_send`` a child sender) with a reason saying why, or, with
``[media] unscreened_images = "refuse"``, a 422 naming ``file``. Adults among
themselves are not affected. Images: a benign conformance photo and solid colours.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import ValidationError

from safeguard.accounts.keys import create_key
from safeguard.config import MediaLimits, Settings
from safeguard.media import nudity
from safeguard.store.db import dispose_engines, session_scope

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "pdq-conformance" / "labelme" / "q0291.jpg"


def photo_on_black(width: int, height: int) -> bytes:
    """The benign photo (three men in ordinary clothes) pasted on a black canvas, as PNG."""
    canvas = Image.new("RGB", (width, height), "black")
    canvas.paste(Image.open(PHOTO).convert("RGB"), (0, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def out_of_memory(_rgb: np.ndarray) -> float:
    """What NudeNet did with the 100000x256 canvas: its allocation failed."""
    raise MemoryError("Failed to allocate 30000000000 bytes")


class Counting:
    def __init__(self, score: float = 0.02) -> None:
        self.calls = 0
        self.score = score

    def __call__(self, _rgb: np.ndarray) -> float:
        self.calls += 1
        return self.score


class Api:
    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def upload(self, data: bytes, sender: str, recipients: str, scorer=None):  # type: ignore[no-untyped-def]
        if scorer is not None:
            self.client.app.state.nudity_scorer = scorer
        return self.client.post(
            "/v1/media",
            files={"file": ("x.png", data, "image/png")},
            data={"sender_id": sender, "recipient_ids": recipients},
            headers=self.headers,
        )


def start(tmp_path: Path, **media: object) -> Iterator[Api]:
    from safeguard.server import create_app
    from safeguard.text import Detector

    url = f"sqlite:///{tmp_path / 'api.db'}"
    settings = Settings(database_url=url, media=MediaLimits(**media))
    with TestClient(create_app(settings, detector=Detector(embeddings=False))) as client:
        with session_scope(url) as session:
            headers = {"Authorization": f"Bearer {create_key(session, ['ingest'], name='t')[1]}"}
        for account, band in (("adult-1", "adult"), ("adult-2", "adult"), ("child-1", "child")):
            body = {"age_band": band, "age_assurance": "verified"}
            assert client.put(f"/v1/accounts/{account}", json=body, headers=headers).status_code == 200
        yield Api(client, headers)
    dispose_engines()


@pytest.fixture
def api(tmp_path: Path, isolated_settings: None) -> Iterator[Api]:
    """The service with default settings: an adult, another adult and a child."""
    yield from start(tmp_path)


@pytest.fixture
def refusing(tmp_path: Path, isolated_settings: None) -> Iterator[Api]:
    """The service with ``[media] unscreened_images = "refuse"``."""
    yield from start(tmp_path, unscreened_images="refuse")


def codes(body: dict) -> list[str]:
    return [r["code"] for r in body["reasons"]]


def test_a_model_failure_blurs_and_warns_the_child_recipient(api: Api) -> None:
    response = api.upload(PHOTO.read_bytes(), "adult-1", "child-1,adult-2", scorer=out_of_memory)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"] == "warn_recipient"
    nude = body["nudity"]
    assert nude["screened"] is False and nude["score"] is None
    assert nude["action"] == "blur_and_warn" and nude["text"] == nudity.UNSCREENED_RECIPIENT_TEXT
    assert nude["recipient_actions"] == {"child-1": "blur_and_warn", "adult-2": "allow"}
    assert codes(body) == ["nudity_unscreened"]
    detail = body["reasons"][0]["detail"]
    assert "MemoryError" in detail and "not screened" in detail and "blur and warn" in detail


def test_a_model_failure_warns_the_child_sender_before_sending(api: Api) -> None:
    body = api.upload(PHOTO.read_bytes(), "child-1", "adult-1", scorer=out_of_memory).json()
    assert body["action"] == "require_confirmation"
    assert body["nudity"]["action"] == "warn_before_send"
    assert body["nudity"]["text"] == nudity.UNSCREENED_SENDER_TEXT
    assert codes(body) == ["nudity_unscreened"] and body["reasons"][0]["account_id"] == "child-1"


def test_the_wide_canvas_is_not_handed_to_the_model_and_is_protected(api: Api) -> None:
    """The issue's benign photo on a black canvas, within the side limit but 39:1."""
    model = Counting()
    body = api.upload(photo_on_black(10_000, 256), "adult-1", "child-1", scorer=model).json()
    assert model.calls == 0
    assert body["action"] == "warn_recipient" and body["nudity"]["action"] == "blur_and_warn"
    assert "nudity_unscreened" in codes(body)
    detail = next(r["detail"] for r in body["reasons"] if r["code"] == "nudity_unscreened")
    assert "10000x256" in detail and "20:1" in detail and "max_screen_aspect" in detail


def test_without_the_nudity_extra_a_child_is_still_protected(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nudity, "nudity_available", lambda: False)
    api.client.app.state.nudity_scorer = None
    body = api.upload(PHOTO.read_bytes(), "adult-1", "child-1").json()
    assert body["action"] == "warn_recipient" and body["nudity"]["action"] == "blur_and_warn"
    assert body["nudity"]["screened"] is False
    assert codes(body) == ["nudity_unavailable"]
    assert "'nudity' extra is not installed" in body["reasons"][0]["detail"]


def test_adults_among_themselves_are_unaffected(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    model = Counting()
    body = api.upload(photo_on_black(10_000, 256), "adult-1", "adult-2", scorer=model).json()
    assert body["action"] == "allow" and "nudity" not in body and "nudity_unscreened" not in codes(body)
    broken = api.upload(PHOTO.read_bytes(), "adult-1", "adult-2", scorer=out_of_memory).json()
    assert broken["action"] == "allow" and "nudity" not in broken and broken["reasons"] == []
    monkeypatch.setattr(nudity, "nudity_available", lambda: False)
    api.client.app.state.nudity_scorer = None
    plain = api.upload(PHOTO.read_bytes(), "adult-1", "adult-2").json()
    assert plain["action"] == "allow" and "nudity" not in plain and plain["reasons"] == []
    assert model.calls == 0


def test_a_screened_image_is_still_decided_on_its_score(api: Api) -> None:
    body = api.upload(PHOTO.read_bytes(), "adult-1", "child-1", scorer=Counting(0.02)).json()
    assert body["action"] == "allow" and body["nudity"]["screened"] is True
    assert body["nudity"]["score"] == 0.02 and body["reasons"] == []


def test_refuse_setting_answers_422_naming_file(refusing: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    response = refusing.upload(PHOTO.read_bytes(), "adult-1", "child-1", scorer=out_of_memory)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("field 'file': nudity screening failed (MemoryError)")
    assert "refused" in detail and "unscreened_images" in detail
    monkeypatch.setattr(nudity, "nudity_available", lambda: False)
    refusing.client.app.state.nudity_scorer = None
    missing = refusing.upload(PHOTO.read_bytes(), "child-1", "adult-1")
    assert missing.status_code == 422 and "'nudity' extra" in missing.json()["detail"]
    adults = refusing.upload(PHOTO.read_bytes(), "adult-1", "adult-2")
    assert adults.status_code == 200 and adults.json()["action"] == "allow"


def test_the_setting_takes_only_protect_or_refuse() -> None:
    assert MediaLimits().unscreened_images == "protect"
    with pytest.raises(ValidationError, match="unscreened_images"):
        MediaLimits(unscreened_images="allow")


def test_the_unscreened_decision_is_protective_for_every_protected_party() -> None:
    both = nudity.decide_unscreened_image(
        "nudity_unscreened",
        "nudity screening failed (MemoryError)",
        sender_band="teen",
        recipient_bands=["child", "adult"],
        sender_id="t1",
    )
    assert (both.sender_action, both.recipient_action, both.action) == (
        "warn_before_send",
        "blur_and_warn",
        "blur_and_warn",
    )
    assert not both.screened and not both.nudity and both.score is None
    assert [r.code for r in both.reasons] == ["nudity_unscreened"]
    unknown = nudity.decide_unscreened_image(
        "nudity_unavailable",
        "no model",
        sender_band="adult",
        recipient_bands=["unknown"],
        treat_unknown_as_minor=True,
    )
    assert unknown.action == "blur_and_warn"
    adults = nudity.decide_unscreened_image(
        "nudity_unscreened", "x", sender_band="adult", recipient_bands=["adult"]
    )
    assert adults.action == "allow" and adults.reasons == ()
