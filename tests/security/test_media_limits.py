"""Image sizes are limited from the header, before decoding (issue 15, item 2).

An 88-byte 65000x1 PNG sent to a child took 12.9 GB: NudeNet pads an image to a
square of its longest side. Every upload is now checked against the ``[media]``
limits (each side, the pixel count) before a pixel is decoded, hashing samples
large images down as the PDQ reference does, and the model never sees more than
:data:`safeguard.media.nudity.SCREEN_SIDE` pixels a side.

The memory tests run ``decide_media`` on each image in a fresh subprocess and
compare its peak RSS (``ru_maxrss``) with the peak before the image, under an
address-space cap that keeps a regression from taking the machine's memory.
Images are generated: solid greys, a gradient, and a benign conformance photo.
"""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from safeguard.accounts.keys import create_key
from safeguard.config import MediaLimits, Settings
from safeguard.errors import InputError
from safeguard.media.hashing import ImageLimits, hash_image_bytes
from safeguard.store.db import dispose_engines, session_scope

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "pdq-conformance" / "labelme" / "q0122.jpg"
PEAK_BOUND_MB = 600  # over the process's peak before the image
ADDRESS_SPACE_CAP = 6 << 30  # the old code asked for 12.7 GB; fail fast instead

Row = Callable[[int], bytes]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def streamed_png(width: int, height: int, row: Row, *, rgb: bool) -> bytes:
    """A PNG built row by row (no full-size buffer): ``row(y)`` gives one row's pixel bytes."""
    compressor = zlib.compressobj(6)
    body = b"".join(compressor.compress(b"\x00" + row(y)) for y in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if rgb else 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def grey(width: int, height: int, level: int = 0) -> bytes:
    line = bytes([level]) * width
    return streamed_png(width, height, lambda _y: line, rgb=False)


def photo_on_canvas(width: int, height: int) -> bytes:
    """The benign seascape photo pasted at the left of a black canvas."""
    photo = np.asarray(Image.open(PHOTO).convert("RGB"))
    pad = bytes(3 * (width - photo.shape[1]))
    blank = bytes(3 * photo.shape[1])
    return streamed_png(
        width, height, lambda y: (photo[y].tobytes() if y < photo.shape[0] else blank) + pad, rgb=True
    )


def gradient(width: int, height: int) -> bytes:
    x = np.arange(width)
    red = (x * 255 // (width - 1)).astype(np.uint8)

    def row(y: int) -> bytes:
        pixels = np.empty((width, 3), dtype=np.uint8)
        pixels[:, 0], pixels[:, 1], pixels[:, 2] = red, y * 255 // (height - 1), 90
        return pixels.tobytes()

    return streamed_png(width, height, row, rgb=True)


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "65000x1 strip": (lambda: grey(65_000, 1), r"65000x1 pixels; each side may be at most 10000 pixels"),
    "1x65000 strip": (lambda: grey(1, 65_000), r"1x65000 pixels; each side may be at most 10000"),
    "photo on a 100000x256 canvas": (lambda: photo_on_canvas(100_000, 256), r"100000x256 pixels; each side"),
    "20000x20000 bomb": (lambda: grey(20_000, 20_000), r"decompression bomb"),
    "8000x8000 bomb": (lambda: grey(8_000, 8_000), r"64 megapixels\); the limit is 40 megapixels"),
}

CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[3]), int(sys.argv[3])))
import numpy as np
from safeguard.accounts.service import upsert_account
from safeguard.config import Settings
from safeguard.errors import InputError
from safeguard.media import nudity
from safeguard.policy.media import decide_media
from safeguard.store.db import session_scope

class Upload:
    sender_id, recipient_ids, message_id = "grown", ["kid"], None
    pdq = md5 = sha256 = nudity_score = conversation_id = None

def pads_like_nudenet(rgb):  # stands in for NudeNet without the extra: the same padding
    side = max(rgb.shape[:2])
    np.pad(rgb, ((0, side - rgb.shape[0]), (0, side - rgb.shape[1]), (0, 0)))
    return 0.02

url = sys.argv[2]
settings = Settings(database_url=url)
with session_scope(url) as session:
    upsert_account(session, "grown", age_band="adult", settings=settings)
    upsert_account(session, "kid", age_band="child", settings=settings)
scorer = nudity.default_scorer() if nudity.nudity_available() else pads_like_nudenet

def run(data):
    try:
        body = decide_media(Upload(), data, write=lambda: session_scope(url), settings=settings,
                            nudity_scorer=scorer)
    except InputError as exc:
        return {"refused": exc.reason, "field": exc.field}
    return {"action": body["action"], "nudity": body.get("nudity"),
            "codes": [r["code"] for r in body["reasons"]]}

warm_up = open(sys.argv[4], "rb").read()
assert run(warm_up)["nudity"]["score"] is not None  # loads the model before the baseline
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcome = run(data)
outcome["peak_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps(outcome))
"""


def decide_in_subprocess(data: bytes, tmp_path: Path) -> dict:
    """``decide_media`` on ``data`` (adult to child) in a fresh process: outcome and peak MB."""
    image, warm_up = tmp_path / "upload.png", tmp_path / "warm-up.jpg"
    image.write_bytes(data)
    warm_up.write_bytes(PHOTO.read_bytes())
    url = f"sqlite:///{tmp_path / 'media.db'}"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(image), url, str(ADDRESS_SPACE_CAP), str(warm_up)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_sizes_are_refused_before_decoding_with_bounded_memory(name: str, tmp_path: Path) -> None:
    build, reason = HOSTILE[name]
    data = build()
    assert len(data) < 1_000_000  # small files: the cost was in the decoded size
    outcome = decide_in_subprocess(data, tmp_path)
    assert outcome.get("field") == "file", outcome
    assert re.search(reason, outcome["refused"]), outcome
    assert outcome["peak_mb"] < PEAK_BOUND_MB, outcome


@pytest.mark.slow
def test_the_largest_accepted_image_is_screened_with_bounded_memory(tmp_path: Path) -> None:
    """36 megapixels (under the 40 MP limit) is hashed and screened; it took over 1 GB before."""
    outcome = decide_in_subprocess(gradient(6_000, 6_000), tmp_path)
    assert "refused" not in outcome, outcome
    assert outcome["nudity"]["screened"] is True and outcome["action"] == "allow", outcome
    assert outcome["peak_mb"] < PEAK_BOUND_MB, outcome


@pytest.mark.slow
def test_an_elongated_image_within_the_limits_is_not_decoded_for_screening(tmp_path: Path) -> None:
    """10000x256 is hashed, but not decoded for the model (39:1 is past the 20:1 limit): protected."""
    outcome = decide_in_subprocess(photo_on_canvas(10_000, 256), tmp_path)
    assert outcome["action"] == "warn_recipient" and "nudity_unscreened" in outcome["codes"], outcome
    assert outcome["nudity"]["screened"] is False and outcome["nudity"]["action"] == "blur_and_warn"
    assert outcome["peak_mb"] < PEAK_BOUND_MB, outcome


# --------------------------------------------------------------------------- the rules, in process


def test_limits_are_checked_from_the_header_before_any_pixel_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import ImageFile

    decoded: list[int] = []
    real_load = ImageFile.ImageFile.load

    def counting_load(self):  # type: ignore[no-untyped-def]
        decoded.append(1)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    for data in (grey(65_000, 1), grey(1, 65_000), grey(8_000, 8_000)):
        with pytest.raises(InputError, match=r"max_image_side|max_image_pixels"):
            hash_image_bytes(data)
    assert decoded == []
    tight = ImageLimits(max_side=2_000, max_pixels=1_000_000)
    with pytest.raises(InputError, match="at most 2000 pixels"):
        hash_image_bytes(grey(3_000, 10), limits=tight)
    with pytest.raises(InputError, match="the limit is 1 megapixels"):
        hash_image_bytes(grey(1_500, 1_500), limits=tight)
    assert decoded == []
    assert hash_image_bytes(grey(2_000, 10), limits=tight).width == 2_000


def test_hashing_samples_large_images_like_the_pdq_reference() -> None:
    """The reference hasher samples images over 512 px to 512 x 512 first: same hash here."""
    photo = Image.open(PHOTO).convert("RGB").resize((1_600, 1_200), Image.Resampling.BICUBIC)
    width, height = photo.size
    rows, cols = np.arange(512) * height // 512, np.arange(512) * width // 512
    sampled = Image.fromarray(np.asarray(photo)[rows][:, cols])
    big, small = io.BytesIO(), io.BytesIO()
    photo.save(big, "PNG")
    sampled.save(small, "PNG")
    assert hash_image_bytes(big.getvalue()).pdq == hash_image_bytes(small.getvalue()).pdq
    assert hash_image_bytes(big.getvalue()).width == 1_600


def test_formats_outside_the_accepted_list_are_refused() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(buffer, "ICO")
    with pytest.raises(InputError, match="unsupported image format; accepted: JPEG, PNG"):
        hash_image_bytes(buffer.getvalue())


# --------------------------------------------------------------------------- the API answer


@pytest.fixture
def api(tmp_path: Path, isolated_settings: None) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The service on SQLite with ``[media] max_image_side = 2000``, an adult and a child."""
    from safeguard.server import create_app
    from safeguard.text import Detector

    url = f"sqlite:///{tmp_path / 'api.db'}"
    settings = Settings(database_url=url, media=MediaLimits(max_image_side=2_000))
    with TestClient(create_app(settings, detector=Detector(embeddings=False))) as client:
        with session_scope(url) as session:
            headers = {"Authorization": f"Bearer {create_key(session, ['ingest'], name='t')[1]}"}
        for account, band in (("adult-1", "adult"), ("child-1", "child")):
            body = {"age_band": band, "age_assurance": "verified"}
            assert client.put(f"/v1/accounts/{account}", json=body, headers=headers).status_code == 200
        yield client, headers
    dispose_engines()


def test_the_api_refuses_oversized_images_with_a_422_naming_file_and_the_limit(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = api
    for data, sender, recipients in (
        (grey(65_000, 1), "adult-1", "child-1"),
        (grey(3_000, 10), "adult-1", "child-1"),
        (grey(1, 65_000), "adult-1", "adult-1"),  # adults only: hashing is bounded the same way
    ):
        response = client.post(
            "/v1/media",
            files={"file": ("x.png", data, "image/png")},
            data={"sender_id": sender, "recipient_ids": recipients},
            headers=headers,
        )
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail.startswith("field 'file': image is ")
        assert "at most 2000 pixels (max_image_side)" in detail
    fits = client.post(
        "/v1/media",
        files={"file": ("x.png", grey(400, 300, 128), "image/png")},
        data={"sender_id": "adult-1", "recipient_ids": "adult-1"},
        headers=headers,
    )
    assert fits.status_code == 200, fits.text
