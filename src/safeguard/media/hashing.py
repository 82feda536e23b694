"""Hash media: PDQ (Meta's C++ reference via ``pdqhash``), MD5 and SHA-256 for
images; vPDQ and MD5 for video (see :mod:`safeguard.media.video`).

Every image is opened with :func:`open_image`, which reads its size from the
header and refuses it, before any pixel is decoded, when a side or the pixel
count is over the :class:`ImageLimits`. As in the reference hasher
(``pdq/cpp/io/pdqio.cpp``), an image larger than 512 pixels on a side is
sampled down to 512 x 512 (nearest neighbour, corner-aligned) before PDQ, so
hashing costs one decode of the image and a fixed amount on top.

Only hashes leave this module: the media bytes are never stored.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from safeguard.errors import InputError

if TYPE_CHECKING:
    from PIL.Image import Image as PilImage

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_LIMITS",
    "MAX_IMAGE_PIXELS",
    "MAX_IMAGE_SIDE",
    "PDQ_QUALITY_THRESHOLD",
    "ImageHashes",
    "ImageLimits",
    "VideoHashes",
    "hash_file",
    "hash_image_bytes",
    "is_video",
    "load_image",
    "open_image",
]

# PDQ hashes of images below this quality are too weak to act on (pdq/README).
PDQ_QUALITY_THRESHOLD = 50
# Larger images are refused before decoding (decompression bombs, 1-pixel-high strips);
# the same defaults as the ``[media]`` settings.
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_SIDE = 10_000
# The reference hasher samples larger images down to this square before PDQ.
PDQ_DOWNSAMPLE_SIDE = 512
# Pillow decoders tried on uploads (EPS, PSD, ICO... are refused).
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP")
# Files larger than this are refused before they are read into memory.
MAX_IMAGE_BYTES = 256 * 1024 * 1024

_VIDEO_SUFFIXES = {
    ".mp4",
    ".m4v",
    ".mov",
    ".mkv",
    ".webm",
    ".avi",
    ".flv",
    ".wmv",
    ".mpg",
    ".mpeg",
    ".ts",
    ".3gp",
    ".ogv",
}


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Image size limits, checked from the header before any pixel is decoded."""

    max_side: int = MAX_IMAGE_SIDE
    max_pixels: int = MAX_IMAGE_PIXELS

    def check(self, width: int, height: int, label: str | None = None) -> None:
        """Raise :class:`InputError` when a ``width`` x ``height`` image is over a limit."""
        if width <= 0 or height <= 0:
            raise InputError(f"invalid image size {width}x{height}", path=label)
        if width * height > self.max_pixels:
            raise InputError(
                f"image is {width}x{height} ({width * height / 1e6:.0f} megapixels); "
                f"the limit is {self.max_pixels / 1e6:.0f} megapixels (max_image_pixels; "
                "possible decompression bomb)",
                path=label,
            )
        if max(width, height) > self.max_side:
            raise InputError(
                f"image is {width}x{height} pixels; each side may be at most {self.max_side} "
                "pixels (max_image_side)",
                path=label,
            )


DEFAULT_LIMITS = ImageLimits()


@dataclass(frozen=True)
class ImageHashes:
    """Hashes of one image. ``pdq`` is None only when PDQ could not be computed."""

    pdq: str | None
    pdq_quality: int | None
    md5: str
    sha256: str
    width: int | None = None
    height: int | None = None
    pdq_dihedral: tuple[str, ...] | None = None
    kind: str = field(default="image", init=False)

    @property
    def too_weak(self) -> bool:
        """True when the PDQ quality is below 50: do not act on a PDQ match."""
        return self.pdq_quality is None or self.pdq_quality < PDQ_QUALITY_THRESHOLD

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        out: dict[str, object] = {
            "kind": self.kind,
            "pdq": self.pdq,
            "pdq_quality": self.pdq_quality,
            "too_weak": self.too_weak,
            "md5": self.md5,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
        }
        if self.pdq_dihedral is not None:
            out["pdq_dihedral"] = list(self.pdq_dihedral)
        return out


@dataclass(frozen=True)
class VideoFrameHash:
    """One vPDQ frame: PDQ hash, quality, frame number and time in seconds."""

    pdq: str
    quality: int
    frame: int
    timestamp: float


@dataclass(frozen=True)
class VideoHashes:
    """Hashes of one video: per-frame vPDQ features and the file's MD5 and SHA-256."""

    frames: tuple[VideoFrameHash, ...]
    md5: str
    sha256: str
    kind: str = field(default="video", init=False)

    @property
    def pdq(self) -> None:
        """Videos carry no single PDQ hash (see ``frames``)."""
        return None

    @property
    def pdq_quality(self) -> None:
        return None

    @property
    def too_weak(self) -> bool:
        """True when no frame reaches PDQ quality 50."""
        return not any(f.quality >= PDQ_QUALITY_THRESHOLD for f in self.frames)

    def to_signal(self) -> str:
        """The vPDQ signal string used in banks (threatexchange's JSON list form)."""
        from safeguard.media.video import features_to_signal

        return features_to_signal(self.frames)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "kind": self.kind,
            "pdq": None,
            "pdq_quality": None,
            "too_weak": self.too_weak,
            "md5": self.md5,
            "sha256": self.sha256,
            "vpdq": [
                {"pdq": f.pdq, "quality": f.quality, "frame": f.frame, "timestamp": f.timestamp}
                for f in self.frames
            ],
        }


def _bits_to_hex(bits: np.ndarray) -> str:
    # Same bit order as the reference: first bit is the most significant.
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _sniff(data: bytes) -> str | None:
    """The image format a file's first bytes claim, if any."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in _SIGNATURES if data.startswith(magic)), None)


def open_image(data: bytes, *, limits: ImageLimits = DEFAULT_LIMITS, label: str | None = None) -> PilImage:
    """Open image bytes as a Pillow image and check its size; no pixel is decoded yet.

    Raises :class:`InputError` for empty, non-image or unsupported input, and for
    an image over ``limits`` (read from its header, before decoding).
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InputError("empty file", path=label)
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise InputError(f"refused as a decompression bomb ({exc})", path=label) from None
    except UnidentifiedImageError:
        kind = _sniff(data)
        if kind:
            raise InputError(f"corrupt image (a {kind} header, undecodable)", path=label) from None
        raise InputError(
            f"not an image (or an unsupported image format; accepted: {', '.join(ACCEPTED_FORMATS)})",
            path=label,
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"corrupt image ({exc})", path=label) from None
    limits.check(*image.size, label=label)
    return image


def load_image(image: PilImage, label: str | None = None) -> PilImage:
    """Decode an image from :func:`open_image`, mapping decoder failures to :class:`InputError`."""
    from PIL import Image

    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise InputError(f"refused as a decompression bomb ({exc})", path=label) from None
    except (OSError, SyntaxError, ValueError, MemoryError) as exc:
        raise InputError(f"truncated or corrupt image ({exc})", path=label) from None
    return image


def _pdq_pixels(image: PilImage) -> np.ndarray:
    """RGB pixels PDQ hashes: the image, or the reference's 512 x 512 nearest-neighbour sample.

    The sample (``CImg::resize``'s corner-aligned nearest neighbour: output x reads
    input ``floor(x * width / 512)``) is taken in the image's own mode, before the
    RGB conversion, so no full-size copy is made.
    """
    from PIL import Image

    width, height = image.size
    side = PDQ_DOWNSAMPLE_SIDE
    if width > side or height > side:
        sx, sy = width / side, height / side
        image = image.transform(
            (side, side),
            Image.Transform.AFFINE,
            (sx, 0, -sx / 2, 0, sy, -sy / 2),  # Pillow samples at pixel centres: shift by half
            Image.Resampling.NEAREST,
        )
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def hash_image_bytes(
    data: bytes,
    *,
    dihedral: bool = False,
    label: str | None = None,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> ImageHashes:
    """PDQ hash and quality, MD5 and SHA-256 of an encoded image.

    With ``dihedral`` also the PDQ hashes of the 8 rotations/flips (the first is
    the image as given). Raises :class:`InputError` for empty, non-image,
    truncated input, or input over ``limits`` (refused before decoding).
    """
    import pdqhash

    image = load_image(open_image(data, limits=limits, label=label), label)
    try:
        pixels = _pdq_pixels(image)
    except (OSError, ValueError) as exc:
        raise InputError(f"truncated or corrupt image ({exc})", path=label) from None
    if dihedral:
        vectors, quality = pdqhash.compute_dihedral(pixels)
        hashes = tuple(_bits_to_hex(v) for v in vectors)
        pdq = hashes[0]
    else:
        vector, quality = pdqhash.compute(pixels)
        pdq = _bits_to_hex(vector)
        hashes = None
    return ImageHashes(
        pdq=pdq,
        pdq_quality=int(quality),
        md5=hashlib.md5(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        width=image.size[0],
        height=image.size[1],
        pdq_dihedral=hashes,
    )


def is_video(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a video, by suffix or container signature."""
    p = Path(path)
    if p.suffix.lower() in _VIDEO_SUFFIXES:
        return True
    try:
        with p.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    return (
        (head[4:8] == b"ftyp" and head[8:12] not in (b"avif", b"heic", b"heix", b"mif1"))
        or head.startswith(b"\x1a\x45\xdf\xa3")
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
    )


def hash_file(
    path: str | os.PathLike[str], *, dihedral: bool = False, limits: ImageLimits = DEFAULT_LIMITS
) -> ImageHashes | VideoHashes:
    """Hash an image or video file; raises :class:`InputError` naming the file."""
    label = str(path)
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", path=label)
    if not p.is_file():
        raise InputError("not a regular file", path=label)
    if is_video(p):
        from safeguard.media.video import hash_video_file

        return hash_video_file(p, label=label)
    size = p.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise InputError(
            f"file is {size / 2**20:.0f} MiB; images over {MAX_IMAGE_BYTES // 2**20} MiB are refused",
            path=label,
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", path=label) from None
    return hash_image_bytes(data, dihedral=dihedral, label=label, limits=limits)


def file_digests(path: Path) -> tuple[str, str]:
    """MD5 and SHA-256 of a file, read in blocks."""
    md5, sha = hashlib.md5(), hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()
