"""Nudity protection for child accounts: decisions, the optional detector, no writes.

Only benign images: the PDQ conformance photos (a bridge landscape, a seascape,
three men in ordinary clothes, houses, stairs, a pen) and images drawn here
(shapes, text, a cartoon figure in a shirt). Where a positive is needed, a stub scorer returns a high score.
"""

from __future__ import annotations

import builtins
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from safeguard.media import nudity
from safeguard.media.nudity import (
    RECIPIENT_TEXT,
    SENDER_TEXT,
    ImageRequestEvent,
    ImageRequestTracker,
    NudenetScorer,
    NudityUnavailable,
    analyse_image,
    decide_image_for_minor,
    image_request_evidence,
)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def shapes() -> bytes:
    image = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 140, 120), fill="red")
    draw.ellipse((160, 60, 300, 200), fill="blue")
    draw.polygon([(40, 220), (120, 140), (200, 220)], fill="green")
    return png(image)


def text_card() -> bytes:
    image = Image.new("RGB", (400, 200), (250, 250, 240))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(["Homework: chapter 4", "Maths test on Friday", "Bring PE kit"]):
        draw.text((20, 30 + 50 * i), line, fill="black")
    return png(image)


def figure_in_clothes() -> bytes:
    """A cartoon person: round face, long-sleeved shirt, trousers."""
    image = Image.new("RGB", (240, 320), (200, 230, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((85, 20, 155, 95), fill=(240, 200, 170))
    draw.ellipse((103, 45, 111, 53), fill="black")
    draw.ellipse((129, 45, 137, 53), fill="black")
    draw.arc((105, 60, 135, 80), 20, 160, fill="black", width=2)
    draw.rectangle((70, 100, 170, 210), fill=(30, 90, 160))  # shirt
    draw.rectangle((40, 100, 70, 190), fill=(30, 90, 160))  # sleeves
    draw.rectangle((170, 100, 200, 190), fill=(30, 90, 160))
    draw.rectangle((75, 210, 165, 310), fill=(60, 60, 60))  # trousers
    return png(image)


def positive(_rgb: np.ndarray) -> float:
    return 0.93


def negative(_rgb: np.ndarray) -> float:
    return 0.02


# --------------------------------------------------------------------------- decisions


def test_child_recipient_gets_blur_and_warn() -> None:
    decision = decide_image_for_minor(0.9, sender_band="adult", recipient_bands=["child"], sender_id="a1")
    assert decision.action == "blur_and_warn" and decision.recipient_action == "blur_and_warn"
    assert decision.sender_action == "allow" and decision.recipient_text == RECIPIENT_TEXT
    assert decision.sender_text is None
    codes = [r.code for r in decision.reasons]
    assert codes == ["nudity_incoming_minor", "nudity_from_adult_to_minor"]
    assert decision.reasons[1].account_id == "a1"
    assert "one tap" in RECIPIENT_TEXT and "Childline" in RECIPIENT_TEXT


def test_child_sender_gets_warn_before_send() -> None:
    decision = decide_image_for_minor(0.7, sender_band="teen", recipient_bands=["adult"])
    assert decision.action == "warn_before_send" and decision.sender_text == SENDER_TEXT
    assert decision.recipient_action == "allow" and decision.recipient_text is None
    assert "Report Remove" in SENDER_TEXT


def test_child_to_child_gets_both_and_blur_wins() -> None:
    decision = decide_image_for_minor(0.8, sender_band="child", recipient_bands=["teen", "adult"])
    assert (decision.sender_action, decision.recipient_action) == ("warn_before_send", "blur_and_warn")
    assert decision.action == "blur_and_warn"
    assert [r.code for r in decision.reasons] == ["nudity_outgoing_minor", "nudity_incoming_minor"]


@pytest.mark.parametrize(
    ("score", "sender", "recipients", "action"),
    [
        (0.49, "child", ["child"], "allow"),  # below the threshold
        (0.50, "child", ["adult"], "warn_before_send"),  # at the threshold
        (0.99, "adult", ["adult"], "allow"),  # adults only
        (0.99, "unknown", ["unknown"], "allow"),
        (0.99, "adult", [], "allow"),
    ],
)
def test_decision_table(score: float, sender: str, recipients: list[str], action: str) -> None:
    assert decide_image_for_minor(score, sender_band=sender, recipient_bands=recipients).action == action


def test_unknown_as_minor_and_custom_threshold() -> None:
    unknown = decide_image_for_minor(
        0.9, sender_band="adult", recipient_bands=["unknown"], treat_unknown_as_minor=True
    )
    assert unknown.action == "blur_and_warn"
    assert decide_image_for_minor(0.6, sender_band="child", threshold=0.7).action == "allow"
    with pytest.raises(ValueError):
        decide_image_for_minor(0.6, sender_band="child", threshold=1.5)


def test_analyse_image_keeps_only_decision_score_and_pdq(photos_dir: Path) -> None:
    data = (photos_dir / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    decision = analyse_image(data, sender_band="adult", recipient_bands=["child"], scorer=positive)
    assert decision.action == "blur_and_warn" and decision.score == pytest.approx(0.93)
    assert decision.pdq is not None and len(decision.pdq) == 64 and decision.pdq_quality == 100
    body = decision.to_dict()
    assert set(body) == {
        "action",
        "sender_action",
        "recipient_action",
        "screened",
        "score",
        "threshold",
        "reasons",
        "sender_text",
        "recipient_text",
        "pdq",
        "pdq_quality",
    }
    assert all(not isinstance(v, bytes | bytearray) for v in body.values())


def test_detector_runs_only_when_a_child_is_involved() -> None:
    calls: list[int] = []

    def counting(rgb: np.ndarray) -> float:
        calls.append(1)
        return 0.99

    adults = analyse_image(shapes(), sender_band="adult", recipient_bands=["adult"], scorer=counting)
    assert adults.action == "allow" and adults.score == 0.0 and calls == []
    analyse_image(shapes(), sender_band="child", recipient_bands=["adult"], scorer=counting)
    assert calls == [1]


def test_missing_extra_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nudity, "nudity_available", lambda: False)
    with pytest.raises(NudityUnavailable, match=r"pip install 'safeguard\[nudity\]'"):
        nudity.default_scorer()
    with pytest.raises(NudityUnavailable, match="AGPL"):
        analyse_image(shapes(), sender_band="child", recipient_bands=["adult"])
    # Adults only: no detector is needed, so nothing fails.
    assert analyse_image(shapes(), sender_band="adult", recipient_bands=["adult"]).action == "allow"


def test_nudenet_scorer_counts_only_exposed_nudity_classes() -> None:
    received: list[np.ndarray] = []

    class FakeDetector:
        def detect(self, image: np.ndarray) -> list[dict]:
            received.append(image)
            return [
                {"class": "FACE_FEMALE", "score": 0.95, "box": [0, 0, 1, 1]},
                {"class": "MALE_BREAST_EXPOSED", "score": 0.9, "box": [0, 0, 1, 1]},
                {"class": "BELLY_EXPOSED", "score": 0.8, "box": [0, 0, 1, 1]},
                {"class": "BUTTOCKS_COVERED", "score": 0.85, "box": [0, 0, 1, 1]},
                {"class": "BUTTOCKS_EXPOSED", "score": 0.61, "box": [0, 0, 1, 1]},
            ]

    scorer = NudenetScorer()
    scorer._detector = FakeDetector()
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # red
    assert scorer(rgb) == pytest.approx(0.61)
    bgr = received[0]
    assert bgr.flags.c_contiguous and bgr.shape == (4, 5, 3) and int(bgr[0, 0, 2]) == 200


def test_warm_loads_the_shared_model_once_from_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import threading
    import time
    import types

    built: list[int] = []
    seen: list[tuple[int, ...]] = []

    class FakeDetector:
        def __init__(self) -> None:
            time.sleep(0.05)  # a slow load widens any race
            built.append(1)

        def detect(self, image: np.ndarray) -> list[dict]:
            seen.append(image.shape)
            return []

    monkeypatch.setitem(sys.modules, "nudenet", types.SimpleNamespace(NudeDetector=FakeDetector))
    monkeypatch.setattr(nudity, "nudity_available", lambda: True)
    monkeypatch.setattr(nudity, "_default", None)
    assert not nudity.is_warm()
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(nudity.warm())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 8 and built == [1] and nudity.is_warm()
    assert nudity.warm() and built == [1]
    assert nudity.default_scorer() is nudity.default_scorer()
    assert seen and all(max(shape[:2]) <= nudity.SCREEN_SIDE for shape in seen)
    monkeypatch.setattr(nudity, "nudity_available", lambda: False)
    assert nudity.warm() is False


def test_the_model_is_never_given_more_than_the_screening_side() -> None:
    received: list[tuple[int, ...]] = []

    class FakeDetector:
        def detect(self, image: np.ndarray) -> list[dict]:
            received.append(image.shape)
            return []

    scorer = NudenetScorer()
    scorer._detector = FakeDetector()
    scorer(np.zeros((4_000, 200, 3), dtype=np.uint8))
    assert received == [(nudity.SCREEN_SIDE, 32, 3)]
    wide = Image.new("RGB", (3_000, 1_000), (10, 120, 200))
    assert nudity.decode_rgb(png(wide)).shape == (213, nudity.SCREEN_SIDE, 3)
    with pytest.raises(nudity.ImageUnscreenable, match=r"3000x100 pixels, 30:1"):
        nudity.decode_rgb(png(Image.new("RGB", (3_000, 100))), max_aspect=20)


# --------------------------------------------------------------------------- no writes


@pytest.fixture
def photos_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "fixtures" / "pdq-conformance"


@pytest.fixture
def no_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """cwd and TMPDIR in an empty folder; opening any file for writing fails the test."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.setenv("TMPDIR", str(empty))
    monkeypatch.setattr(tempfile, "tempdir", str(empty))
    real_open, real_os_open = builtins.open, os.open
    attempts: list[str] = []

    def guarded_open(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if any(flag in mode for flag in "wax+"):
            attempts.append(f"open({file!r}, {mode!r})")
            raise AssertionError(f"image analysis tried to write {file!r}")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            attempts.append(f"os.open({path!r})")
            raise AssertionError(f"image analysis tried to write {path!r}")
        return real_os_open(path, flags, *args, **kwargs)

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append("tempfile/save")
        raise AssertionError("image analysis tried to create a file")

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(Image.Image, "save", refuse)
    yield empty
    assert attempts == []
    assert list(empty.iterdir()) == []


@pytest.fixture(scope="module")
def drawn() -> dict[str, bytes]:
    """Generated images, made before any write guard is in place (PIL's save is refused there)."""
    return {"shapes": shapes(), "text": text_card(), "figure in clothes": figure_in_clothes()}


def test_analysis_in_guarded_folder_writes_nothing(
    photos_dir: Path, drawn: dict[str, bytes], no_writes: Path
) -> None:
    data = (photos_dir / "labelme" / "q0291.jpg").read_bytes()
    for image in [data, *drawn.values()]:
        decision = analyse_image(image, sender_band="adult", recipient_bands=["child"], scorer=positive)
        assert decision.action == "blur_and_warn" and decision.pdq
    low = analyse_image(data, sender_band="teen", recipient_bands=["adult"], scorer=negative)
    assert low.action == "allow"


# --------------------------------------------------------------------------- the real model


def _benign_images(photos_dir: Path, drawn: dict[str, bytes]) -> dict[str, bytes]:
    files = {
        "bridge landscape": "bridge-mods/aaa-orig.jpg",
        "bridge rotated": "dih/bridge-2-rotate-90.jpg",
        "seascape": "labelme/q0122.jpg",
        "three men in ordinary clothes": "labelme/q0291.jpg",
        "stairs": "labelme/q0746.jpg",
        "canal houses": "labelme/q1050.jpg",
        "stripes": "labelme/q2821.jpg",
        "pen and plate": "misc/c.png",
    }
    images = {name: (photos_dir / path).read_bytes() for name, path in files.items()}
    images.update(drawn)
    return images


@pytest.fixture(scope="module")
def real_scorer() -> NudenetScorer:
    if not nudity.nudity_available():
        pytest.skip(
            "the optional 'nudity' extra (nudenet, onnxruntime) is not installed: pip install '.[nudity]'"
        )
    scorer = nudity.default_scorer()
    scorer._load()
    return scorer


def test_real_model_does_not_flag_benign_images(
    real_scorer: NudenetScorer, photos_dir: Path, drawn: dict[str, bytes]
) -> None:
    for name, data in _benign_images(photos_dir, drawn).items():
        decision = analyse_image(data, sender_band="adult", recipient_bands=["child"], scorer=real_scorer)
        assert decision.action == "allow", f"{name} scored {decision.score:.3f}"
        assert decision.score < nudity.NUDITY_THRESHOLD


def test_real_model_writes_nothing(
    real_scorer: NudenetScorer, photos_dir: Path, drawn: dict[str, bytes], no_writes: Path
) -> None:
    data = (photos_dir / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    for image in (data, drawn["figure in clothes"]):
        decision = analyse_image(image, sender_band="child", recipient_bands=["child"])  # default scorer
        assert decision.action == "allow" and decision.pdq


# --------------------------------------------------------------------------- image requests


def request(
    sender: str = "adult-1", band: str = "adult", to: str = "child", index: int = 0
) -> ImageRequestEvent:
    return ImageRequestEvent("request", sender, band, to, message_index=index, message_id=f"m{index}")


def test_repeated_adult_requests_raise_image_request_then_coercion() -> None:
    assert image_request_evidence([request(index=1)]).evidence == {}
    two = image_request_evidence([request(index=1), request(index=4)])
    assert two.evidence == {"image_request": pytest.approx(0.3)}
    assert two.signals[0].message_index == 4 and two.signals[0].sender_id == "adult-1"
    assert two.signals[0].stage == "sexual" and "2 times" in two.signals[0].reason
    four = image_request_evidence([request(index=i) for i in range(4)])
    assert four.evidence["image_request"] == pytest.approx(1 - 0.7**3)
    assert four.evidence["coercion"] == pytest.approx(1 - 0.75**2)
    assert four.categories == ["coercion", "image_request"]


def test_requests_between_peers_or_adults_add_nothing() -> None:
    teens = [request("teen-1", "teen", "teen", i) for i in range(5)]
    adults = [request("adult-1", "adult", "adult", i) for i in range(5)]
    assert image_request_evidence(teens).evidence == {}
    assert image_request_evidence(adults).evidence == {}


def test_nudity_images_add_sexual_content_and_compliance_coercion() -> None:
    adult_sends = ImageRequestEvent("image", "adult-1", "adult", "child", 3, nudity_score=0.9)
    result = image_request_evidence([adult_sends])
    assert result.evidence == {"sexual_content": pytest.approx(0.8)}
    child_sends = ImageRequestEvent("image", "child-1", "child", "adult", 5, nudity_score=0.9)
    complied = image_request_evidence([request(index=1), child_sends])
    assert complied.evidence == {"coercion": pytest.approx(0.5)}
    assert complied.signals[0].sender_id == "adult-1" and complied.signals[0].message_index == 5
    benign = ImageRequestEvent("image", "child-1", "child", "adult", 5, nudity_score=0.1)
    assert image_request_evidence([request(index=1), benign]).evidence == {}


def test_tracker_keeps_conversations_apart_and_round_trips() -> None:
    tracker = ImageRequestTracker()
    for i in range(3):
        tracker.record("c1", request(index=i))
    tracker.record("c2", request(index=0))
    assert set(tracker.evidence("c1").evidence) == {"image_request", "coercion"}
    assert tracker.evidence("c2").evidence == {}
    saved = tracker.to_dict("c1")
    assert all("text" not in e for e in saved)
    other = ImageRequestTracker()
    other.load("c1", saved)
    assert other.evidence("c1") == tracker.evidence("c1")
    tracker.forget("c1")
    assert tracker.evidence("c1").evidence == {}
