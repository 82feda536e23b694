"""Self-generated imagery protection (capability 4): nudity detection on images
sent by or to a child or teen account, so the client can blur and warn.

The image is analysed in memory (decoded from bytes with Pillow, scored, then
dropped): nothing is written to disk or the store. Only the decision, the
score and the image's PDQ hash leave this module.

Decisions (:func:`decide_image_for_minor`, a pure function):

- a protected (child/teen) recipient of an image scored as nudity: ``blur_and_warn``
  (the client blurs it and shows :data:`RECIPIENT_TEXT`, with a one-tap report);
- a protected sender of such an image: ``warn_before_send`` (a prompt about
  sharing images and where to get help, :data:`SENDER_TEXT`);
- otherwise ``allow``.

An image that cannot be screened while a protected account takes part (the
extra is not installed, the model failed, or the image is too elongated for it:
:class:`ImageUnscreenable`) is never silently allowed:
:func:`decide_unscreened_image` (pure) gives the same protective actions, with
the reason and texts that say it was not checked.

The model never sees more than :data:`SCREEN_SIDE` pixels a side: images are
decoded for screening at most that large (:func:`decode_rgb`; JPEGs are
decoded at a reduced scale), after their size was checked from the header, so
NudeNet's padding to a square costs a fixed amount whatever the upload.
:func:`warm` loads the model ahead of the first image (idempotent, thread-safe).

:func:`image_request_evidence` (pure) and :class:`ImageRequestTracker` turn an
adult's repeated requests for images in one conversation (and nudity sent by
or drawn from a child there) into extra ``image_request`` / ``coercion`` /
``sexual_content`` evidence that the conversation's risk can take in.

The detector is NudeNet's bundled 320n ONNX model run by onnxruntime, an
optional extra: ``pip install 'safeguard[nudity]'``. Without it
:class:`NudityUnavailable` says how to install it; tests inject a scorer.

Licence (checked 2026-11 on nudenet 3.4.2): the wheel's metadata says MIT, but
the licence files it ships (LICENSE, LICENSE.md) are the GNU AGPL-3.0, as is
the repository (notAI-tech/NudeNet). The bundled ``320n.onnx`` weights are a
YOLOv8n (Ultralytics, AGPL-3.0) detector; the maintainer has said the project
"has to be AGPL" because YOLOv8 is used and that PyPI will be updated
(NudeNet issue #177); issues #198/#200 asking for the weights' licence and
training-data provenance are open. Treat both code and weights as AGPL-3.0:
Safeguard (Apache-2.0) only imports it when the extra is installed; a
deployment that modifies it and serves users over a network, or ships the model
in an app, takes on the AGPL's source-offer duties (or needs a commercial
Ultralytics licence).

This file is long because the screening decisions and the image-request evidence
share one vocabulary (bands, thresholds, texts) and the conversation state reads
the evidence from here; split it only together with ``safeguard.text``'s image events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from safeguard.core.types import Reason
from safeguard.errors import SafeguardError

if TYPE_CHECKING:
    import numpy as np

    from safeguard.media.hashing import ImageHashes, ImageLimits

__all__ = [
    "INSTALL_HINT",
    "MAX_SCREEN_ASPECT",
    "NUDITY_CLASSES",
    "NUDITY_THRESHOLD",
    "RECIPIENT_TEXT",
    "SCREEN_SIDE",
    "SENDER_TEXT",
    "UNSCREENED_RECIPIENT_TEXT",
    "UNSCREENED_SENDER_TEXT",
    "EvidenceSignal",
    "ImageDecision",
    "ImageRequestEvent",
    "ImageRequestEvidence",
    "ImageRequestTracker",
    "ImageUnscreenable",
    "NudenetScorer",
    "NudityUnavailable",
    "analyse_image",
    "decide_image_for_minor",
    "decide_unscreened_image",
    "decode_rgb",
    "default_scorer",
    "image_request_evidence",
    "is_warm",
    "nudity_available",
    "warm",
]

# NudeNet 3.4 labels that count as nudity (MALE_BREAST_EXPOSED, bellies, feet,
# armpits and every *_COVERED label do not). Score = max confidence over these.
NUDITY_CLASSES = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)
NUDITY_THRESHOLD = 0.5
# The longest side the model is given (its input is 320 x 320; it pads to a square first).
SCREEN_SIDE = 640
# Longest to shortest side beyond which an image cannot be screened (the ``[media]`` default).
MAX_SCREEN_ASPECT = 20.0
PROTECTED_BANDS: tuple[str, ...] = ("child", "teen")
INSTALL_HINT = (
    "nudity detection needs the optional 'nudity' extra: pip install 'safeguard[nudity]' "
    "(nudenet and onnxruntime; nudenet and its model are AGPL-3.0)"
)

RECIPIENT_TEXT = (
    "We've blurred this picture because it might show someone without clothes. "
    "You don't have to look at it. If it upset you or you didn't ask for it, it's not your fault. "
    "You can report it with one tap, block the person who sent it, and tell an adult you trust. "
    "You can also talk to Childline for free, any time: 0800 1111 or childline.org.uk."
)
SENDER_TEXT = (
    "This picture might show someone without clothes. Once you send a picture, "
    "you can't control who sees it or where it ends up. "
    "If someone is asking or pressuring you to send pictures like this, that's not okay and "
    "it's not your fault: you can say no, block them and tell an adult you trust. "
    "If a nude picture of you has already been shared, you can get help to have it taken down: "
    "Childline and the Internet Watch Foundation's Report Remove (childline.org.uk/report-remove), "
    "or Take It Down (takeitdown.ncmec.org) outside the UK."
)
UNSCREENED_RECIPIENT_TEXT = (
    "We've blurred this picture because we couldn't check it. You don't have to look at it. "
    "If it upset you or you didn't ask for it, it's not your fault. "
    "You can report it with one tap, block the person who sent it, and tell an adult you trust. "
    "You can also talk to Childline for free, any time: 0800 1111 or childline.org.uk."
)
UNSCREENED_SENDER_TEXT = (
    "We couldn't check this picture. Once you send a picture, "
    "you can't control who sees it or where it ends up. "
    "If someone is asking or pressuring you to send pictures, that's not okay and "
    "it's not your fault: you can say no, block them and tell an adult you trust. "
    "If a picture of you has been shared, Childline (childline.org.uk/report-remove) "
    "or Take It Down (takeitdown.ncmec.org) can help have it taken down."
)

# numpy is imported where images are decoded, so the conversation state can use the
# image-request evidence below without loading it.
Scorer = Callable[["np.ndarray"], float]


class NudityUnavailable(SafeguardError):
    """The optional nudity detector (nudenet + onnxruntime) is not installed."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(INSTALL_HINT + (f" ({detail})" if detail else ""))


class ImageUnscreenable(SafeguardError):
    """The image cannot be screened by the model (too elongated); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# --------------------------------------------------------------------------- detector


def nudity_available() -> bool:
    """Whether nudenet and onnxruntime can be imported."""
    try:
        import nudenet  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def decode_rgb(
    data: bytes,
    *,
    limits: ImageLimits | None = None,
    max_aspect: float | None = None,
    side: int = SCREEN_SIDE,
) -> np.ndarray:
    """Decode image bytes for the model: an ``(h, w, 3)`` uint8 RGB array, in memory,
    at most ``side`` pixels on its longest side (aspect ratio kept).

    The size is checked from the header first (:func:`safeguard.media.hashing.open_image`:
    ``limits``, and ``max_aspect`` when given, raising :class:`ImageUnscreenable`); a
    JPEG is then decoded at a reduced scale, other formats decoded and shrunk.
    """
    import numpy as np
    from PIL import Image

    from safeguard.media.hashing import DEFAULT_LIMITS, load_image, open_image

    image = open_image(data, limits=limits or DEFAULT_LIMITS)
    width, height = image.size
    aspect = max(width, height) / min(width, height)
    if max_aspect is not None and aspect > max_aspect:
        raise ImageUnscreenable(
            f"image is {width}x{height} pixels, {aspect:.0f}:1; the nudity model screens images up to "
            f"{max_aspect:g}:1 (max_screen_aspect)"
        )
    image.draft("RGB", (side, side))
    image = load_image(image)
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(image)


class NudenetScorer:
    """Max confidence of the nudity classes from NudeNet's bundled 320n model.

    The model is loaded once, on first use or by :meth:`load` (thread-safe).
    NudeNet's ``detect`` takes a numpy array, so nothing is written: we hand it
    the decoded image in the BGR channel order its own byte decoder
    (``cv2.imdecode``) would produce, shrunk to ``max_side`` first when larger
    (NudeNet pads to a square of the longest side before resizing).
    """

    def __init__(
        self, threshold_classes: frozenset[str] = NUDITY_CLASSES, max_side: int = SCREEN_SIDE
    ) -> None:
        self.classes = threshold_classes
        self.max_side = max_side
        self._detector: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._detector is not None

    def load(self) -> Any:
        """Load the model now (idempotent); :class:`NudityUnavailable` without the extra."""
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    try:
                        from nudenet import NudeDetector
                    except ImportError as exc:
                        raise NudityUnavailable(str(exc)) from None
                    self._detector = NudeDetector()
        return self._detector

    _load = load

    def detections(self, rgb: np.ndarray) -> list[dict[str, Any]]:
        """NudeNet's raw detections (class, score, box) for an RGB array."""
        import numpy as np

        rgb = np.asarray(rgb, dtype=np.uint8)
        height, width = rgb.shape[:2]
        if max(height, width) > self.max_side:
            import cv2

            scale = self.max_side / max(height, width)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        return list(self.load().detect(bgr))

    def __call__(self, rgb: np.ndarray) -> float:
        return max(
            (float(d["score"]) for d in self.detections(rgb) if d.get("class") in self.classes),
            default=0.0,
        )


_default: NudenetScorer | None = None
_default_lock = threading.Lock()


def default_scorer() -> NudenetScorer:
    """The shared NudeNet scorer; raises :class:`NudityUnavailable` if the extra is missing."""
    global _default
    if not nudity_available():
        raise NudityUnavailable()
    with _default_lock:
        if _default is None:
            _default = NudenetScorer()
        return _default


def warm() -> bool:
    """Load the shared model now, e.g. at start-up (idempotent, thread-safe).

    Returns False, without raising, when the optional extra is not installed.
    """
    if not nudity_available():
        return False
    import numpy as np

    scorer = default_scorer()
    if not scorer.loaded:
        scorer.load()
        scorer(np.zeros((32, 32, 3), dtype=np.uint8))  # the first inference sets up the session
    return True


def is_warm() -> bool:
    """Whether the shared model is loaded (for a readiness check)."""
    return _default is not None and _default.loaded


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class ImageDecision:
    """What the client does with one image, with its reasons and the texts to show.

    ``pdq`` (and its quality) is the only trace of the image that is kept.
    """

    sender_action: str  # "warn_before_send" or "allow"
    recipient_action: str  # "blur_and_warn" or "allow"
    score: float | None  # None: the image could not be screened
    threshold: float
    reasons: tuple[Reason, ...] = ()
    sender_text: str | None = None
    recipient_text: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None

    @property
    def action(self) -> str:
        """The one action to act on: ``blur_and_warn``, ``warn_before_send`` or ``allow``."""
        if self.recipient_action != "allow":
            return self.recipient_action
        return self.sender_action

    @property
    def screened(self) -> bool:
        """False when the decision is protective because the image could not be screened."""
        return self.score is not None

    @property
    def nudity(self) -> bool:
        return self.score is not None and self.score >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no image data: only the score and the PDQ hash)."""
        return {
            "action": self.action,
            "sender_action": self.sender_action,
            "recipient_action": self.recipient_action,
            "screened": self.screened,
            "score": None if self.score is None else round(self.score, 4),
            "threshold": self.threshold,
            "reasons": [r.to_dict() for r in self.reasons],
            "sender_text": self.sender_text,
            "recipient_text": self.recipient_text,
            "pdq": self.pdq,
            "pdq_quality": self.pdq_quality,
        }


def _protected(band: str | None, bands: Sequence[str], unknown_as_minor: bool) -> bool:
    band = band or "unknown"
    return band in bands or (unknown_as_minor and band == "unknown")


def decide_image_for_minor(
    score: float,
    *,
    sender_band: str | None,
    recipient_bands: Iterable[str | None] = (),
    threshold: float = NUDITY_THRESHOLD,
    protected_bands: Sequence[str] = PROTECTED_BANDS,
    treat_unknown_as_minor: bool = False,
    sender_id: str | None = None,
) -> ImageDecision:
    """Blur-and-warn for protected recipients, warn-before-send for protected senders.

    Pure: the nudity ``score`` (0-1) and the age bands decide; at or above
    ``threshold`` the image counts as nudity.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    score = float(min(1.0, max(0.0, score)))
    nude = score >= threshold
    minor_sender = _protected(sender_band, protected_bands, treat_unknown_as_minor)
    minor_recipients = [b for b in recipient_bands if _protected(b, protected_bands, treat_unknown_as_minor)]
    reasons: list[Reason] = []
    sender_action = recipient_action = "allow"
    if nude and minor_sender:
        sender_action = "warn_before_send"
        reasons.append(
            Reason(
                "nudity_outgoing_minor",
                f"image scored {score:.2f} for nudity (threshold {threshold:.2f}) and the sender is a "
                f"{sender_band or 'unknown'} account: prompt before sending",
                sender_id,
            )
        )
    if nude and minor_recipients:
        recipient_action = "blur_and_warn"
        reasons.append(
            Reason(
                "nudity_incoming_minor",
                f"image scored {score:.2f} for nudity (threshold {threshold:.2f}) and "
                f"{len(minor_recipients)} recipient(s) are children: blur and warn",
                None,
            )
        )
        if not minor_sender and (sender_band or "unknown") in ("adult", "unknown"):
            reasons.append(
                Reason(
                    "nudity_from_adult_to_minor",
                    f"an {sender_band or 'unknown'}-band account sent an image flagged as nudity to a child",
                    sender_id,
                )
            )
    return ImageDecision(
        sender_action=sender_action,
        recipient_action=recipient_action,
        score=score,
        threshold=threshold,
        reasons=tuple(reasons),
        sender_text=SENDER_TEXT if sender_action != "allow" else None,
        recipient_text=RECIPIENT_TEXT if recipient_action != "allow" else None,
    )


def decide_unscreened_image(
    code: str,
    why: str,
    *,
    sender_band: str | None,
    recipient_bands: Iterable[str | None] = (),
    threshold: float = NUDITY_THRESHOLD,
    protected_bands: Sequence[str] = PROTECTED_BANDS,
    treat_unknown_as_minor: bool = False,
    sender_id: str | None = None,
) -> ImageDecision:
    """The protective decision for an image that could not be screened (fail closed).

    Pure: as if the image were nudity, a protected sender gets ``warn_before_send``
    and protected recipients ``blur_and_warn``, with texts that say the picture
    was not checked; one reason with ``code`` (``nudity_unavailable``,
    ``nudity_unscreened``) says ``why``. Adults only: ``allow``, no reason.
    """
    minor_sender = _protected(sender_band, protected_bands, treat_unknown_as_minor)
    minor_recipients = [b for b in recipient_bands if _protected(b, protected_bands, treat_unknown_as_minor)]
    sender_action = "warn_before_send" if minor_sender else "allow"
    recipient_action = "blur_and_warn" if minor_recipients else "allow"
    steps = []
    if minor_recipients:
        steps.append(f"blur and warn for {len(minor_recipients)} child recipient(s)")
    if minor_sender:
        steps.append(f"prompt the {sender_band or 'unknown'}-band sender before sending")
    detail = f"{why}: the image was not screened for nudity; {' and '.join(steps)}"
    reasons = (Reason(code, detail, sender_id if minor_sender else None),) if steps else ()
    return ImageDecision(
        sender_action=sender_action,
        recipient_action=recipient_action,
        score=None,
        threshold=threshold,
        reasons=reasons,
        sender_text=UNSCREENED_SENDER_TEXT if minor_sender else None,
        recipient_text=UNSCREENED_RECIPIENT_TEXT if minor_recipients else None,
    )


def analyse_image(
    data: bytes,
    *,
    sender_band: str | None,
    recipient_bands: Iterable[str | None] = (),
    scorer: Scorer | None = None,
    threshold: float = NUDITY_THRESHOLD,
    protected_bands: Sequence[str] = PROTECTED_BANDS,
    treat_unknown_as_minor: bool = False,
    sender_id: str | None = None,
    hashes: ImageHashes | None = None,
    limits: ImageLimits | None = None,
    max_aspect: float = MAX_SCREEN_ASPECT,
) -> ImageDecision:
    """Score an image (in memory) and decide; only the decision, score and PDQ hash are returned.

    The detector runs only when the sender or a recipient is protected; for
    adults only, the image is hashed and allowed with score 0. ``hashes`` may
    pass the image's hashes when the caller has computed them already. Raises
    :class:`InputError` for an unreadable image or one over ``limits``, and, when
    the image must be screened but cannot be, :class:`NudityUnavailable` or
    :class:`ImageUnscreenable` (see :func:`decide_unscreened_image`).
    """
    from safeguard.media.hashing import DEFAULT_LIMITS, hash_image_bytes

    limits = limits or DEFAULT_LIMITS
    bands = list(recipient_bands)
    if hashes is None:
        hashes = hash_image_bytes(data, limits=limits)
    involved = _protected(sender_band, protected_bands, treat_unknown_as_minor) or any(
        _protected(b, protected_bands, treat_unknown_as_minor) for b in bands
    )
    score = 0.0
    if involved:
        pixels = decode_rgb(data, limits=limits, max_aspect=max_aspect)
        score = float((scorer or default_scorer())(pixels))
    decision = decide_image_for_minor(
        score,
        sender_band=sender_band,
        recipient_bands=bands,
        threshold=threshold,
        protected_bands=protected_bands,
        treat_unknown_as_minor=treat_unknown_as_minor,
        sender_id=sender_id,
    )
    return replace(decision, pdq=hashes.pdq, pdq_quality=hashes.pdq_quality)


# --------------------------------------------------------------------------- image requests

REQUEST_REPEAT_MIN = 2  # requests from one adult before image_request evidence is added
COERCION_REPEAT_MIN = 3  # requests from one adult before coercion evidence is added
REQUEST_BASE = 0.7  # image_request weight = 1 - REQUEST_BASE ** (requests - 1)
COERCION_BASE = 0.75  # coercion weight = 1 - COERCION_BASE ** (requests - 2)
ADULT_NUDITY_WEIGHT = 0.8  # sexual_content weight: an adult sent nudity to a child
COMPLIANCE_WEIGHT = 0.5  # coercion weight: a child about to send nudity after being asked
MAX_EVENTS = 200


@dataclass(frozen=True, slots=True)
class ImageRequestEvent:
    """One event in a conversation: a request for images, or an image with its score.

    ``kind`` is ``"request"`` (a message asking for photos, e.g. the text
    detector's ``image_request`` signal) or ``"image"`` (an image sent, with its
    nudity score).
    """

    kind: str
    sender_id: str
    sender_band: str | None
    recipient_band: str | None
    message_index: int = 0
    message_id: str | None = None
    nudity_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {s: getattr(self, s) for s in self.__slots__}


@dataclass(frozen=True, slots=True)
class EvidenceSignal:
    """Extra evidence for one category, shaped like ``safeguard.text.state.Signal``."""

    category: str
    message_index: int
    excerpt: str
    weight: float
    reason: str
    stage: str
    sender_id: str | None = None
    message_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {s: getattr(self, s) for s in self.__slots__}


@dataclass(frozen=True)
class ImageRequestEvidence:
    """Per-category evidence (noisy-OR of the signals) and the signals that explain it."""

    signals: tuple[EvidenceSignal, ...] = ()
    evidence: dict[str, float] = field(default_factory=dict)

    @property
    def categories(self) -> list[str]:
        return sorted(self.evidence)


_STAGE = {"image_request": "sexual", "sexual_content": "sexual", "coercion": "meeting_compliance"}


def image_request_evidence(
    events: Sequence[ImageRequestEvent],
    *,
    threshold: float = NUDITY_THRESHOLD,
    protected_bands: Sequence[str] = PROTECTED_BANDS,
) -> ImageRequestEvidence:
    """Evidence from one conversation's image events (pure; oldest event first).

    Per non-protected sender, counting only requests and images aimed at protected
    recipients: from the 2nd request, ``image_request`` (0.3, 0.51, 0.66...); from
    the 3rd, ``coercion`` (0.25, 0.44...); an image flagged as nudity sent to a
    child, ``sexual_content`` 0.8; and when a child goes on to send an image
    flagged as nudity after being asked, ``coercion`` 0.5 on the asker (pressure
    that is working).
    """
    signals: list[EvidenceSignal] = []
    requests: dict[str, list[ImageRequestEvent]] = {}
    nude_sent: dict[str, ImageRequestEvent] = {}
    complied: dict[str, ImageRequestEvent] = {}
    for event in events:
        adult = event.sender_band not in protected_bands
        to_minor = event.recipient_band in protected_bands
        nude = event.nudity_score is not None and event.nudity_score >= threshold
        if event.kind == "request" and adult and to_minor:
            requests.setdefault(event.sender_id, []).append(event)
        elif event.kind == "image" and nude and adult and to_minor:
            nude_sent[event.sender_id] = event
        elif event.kind == "image" and nude and not adult:
            for asker in requests:  # every adult who had asked this child before
                complied[asker] = event
    for sender, asked in requests.items():
        n, last = len(asked), asked[-1]
        if n >= REQUEST_REPEAT_MIN:
            weight = 1 - REQUEST_BASE ** (n - 1)
            signals.append(_signal("image_request", last, weight, f"asked a child for images {n} times"))
        if n >= COERCION_REPEAT_MIN:
            weight = 1 - COERCION_BASE ** (n - 2)
            signals.append(
                _signal("coercion", last, weight, f"kept asking a child for images ({n} requests)")
            )
        if sender in complied:
            signals.append(
                _signal(
                    "coercion",
                    complied[sender],
                    COMPLIANCE_WEIGHT,
                    "a child was about to send an image flagged as nudity after this account asked for one",
                    sender_id=sender,
                )
            )
    for event in nude_sent.values():
        signals.append(
            _signal(
                "sexual_content", event, ADULT_NUDITY_WEIGHT, "sent an image flagged as nudity to a child"
            )
        )
    remaining: dict[str, float] = {}
    for s in signals:
        remaining[s.category] = remaining.get(s.category, 1.0) * (1.0 - s.weight)
    evidence = {c: round(1.0 - r, 6) for c, r in remaining.items()}
    return ImageRequestEvidence(tuple(signals), evidence)


def _signal(
    category: str, event: ImageRequestEvent, weight: float, reason: str, *, sender_id: str | None = None
) -> EvidenceSignal:
    return EvidenceSignal(
        category=category,
        message_index=event.message_index,
        excerpt="",
        weight=round(weight, 6),
        reason=reason,
        stage=_STAGE[category],
        sender_id=sender_id or event.sender_id,
        message_id=event.message_id,
    )


class ImageRequestTracker:
    """Image events per conversation (the last ``MAX_EVENTS`` each), and their evidence."""

    def __init__(self, *, threshold: float = NUDITY_THRESHOLD) -> None:
        self.threshold = threshold
        self._events: dict[str, list[ImageRequestEvent]] = {}
        self._lock = threading.Lock()

    def record(self, conversation_id: str, event: ImageRequestEvent) -> ImageRequestEvidence:
        """Add an event and return the conversation's evidence so far."""
        with self._lock:
            events = self._events.setdefault(conversation_id, [])
            events.append(event)
            del events[:-MAX_EVENTS]
            snapshot = list(events)
        return image_request_evidence(snapshot, threshold=self.threshold)

    def evidence(self, conversation_id: str) -> ImageRequestEvidence:
        with self._lock:
            snapshot = list(self._events.get(conversation_id, ()))
        return image_request_evidence(snapshot, threshold=self.threshold)

    def forget(self, conversation_id: str) -> None:
        with self._lock:
            self._events.pop(conversation_id, None)

    def to_dict(self, conversation_id: str) -> list[dict[str, Any]]:
        """One conversation's events as JSON (ids, bands, indexes, scores: no content)."""
        with self._lock:
            return [e.to_dict() for e in self._events.get(conversation_id, ())]

    def load(self, conversation_id: str, events: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            self._events[conversation_id] = [ImageRequestEvent(**e) for e in events][-MAX_EVENTS:]
