"""PDQ conformance with Meta's reference hashes, and clear errors for bad input."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from safeguard.errors import InputError
from safeguard.media.hashing import hash_file, hash_image_bytes
from safeguard.media.pdq_index import hamming_distance

BRIDGE_MODS = [
    "blur-a-little.jpg",
    "blur-a-lot.jpg",
    "high-contrast.jpg",
    "high-saturation.jpg",
    "sharpen-a-little.jpg",
    "sharpen-a-lot.jpg",
    "shrink-a-little.jpg",
    "shrink-a-lot.jpg",
    "square-128x128.jpg",
    "square-256x256.jpg",
    "square-512x512.jpg",
]
WEAK = ["misc/small.jpg", "labelme/q0003.jpg", "labelme/q0004.jpg"]


def test_every_hash_within_16_of_reference(conformance: Path, expected_hashes: dict) -> None:
    assert len(expected_hashes) == 30
    for relative, expected in expected_hashes.items():
        result = hash_file(conformance / relative)
        assert result.kind == "image"
        assert hamming_distance(result.pdq, expected) <= 16, relative
        assert len(result.md5) == 32 and len(result.sha256) == 64


def test_bridge_edits_match_original(conformance: Path) -> None:
    original = hash_file(conformance / "bridge-mods" / "aaa-orig.jpg")
    assert not original.too_weak
    for name in BRIDGE_MODS:
        edited = hash_file(conformance / "bridge-mods" / name)
        assert hamming_distance(edited.pdq, original.pdq) <= 31, name
        assert edited.md5 != original.md5


def test_dihedral_bridges_match_original(conformance: Path) -> None:
    original = hash_file(conformance / "dih" / "bridge-1-original.jpg").pdq
    rotated = sorted((conformance / "dih").glob("bridge-[2-8]-*.jpg"))
    assert len(rotated) == 7
    for path in rotated:
        plain = hash_file(path)
        assert hamming_distance(plain.pdq, original) > 31, path.name  # needs --dihedral
        variants = hash_file(path, dihedral=True).pdq_dihedral
        assert variants is not None and len(variants) == 8
        assert min(hamming_distance(v, original) for v in variants) <= 31, path.name


def test_low_quality_images_are_too_weak(conformance: Path) -> None:
    for relative in WEAK:
        result = hash_file(conformance / relative)
        assert result.pdq_quality < 50 and result.too_weak, relative
    strong = hash_file(conformance / "labelme" / "q2821.jpg")
    assert strong.pdq_quality >= 50 and not strong.too_weak


def test_modes_and_formats_hash_alike(conformance: Path) -> None:
    with Image.open(conformance / "bridge-mods" / "aaa-orig.jpg") as image:
        rgb = image.convert("RGB")
    reference = hash_file(conformance / "bridge-mods" / "aaa-orig.jpg").pdq
    for mode, fmt in (("RGBA", "PNG"), ("L", "PNG"), ("P", "GIF"), ("RGB", "WEBP")):
        buffer = io.BytesIO()
        rgb.convert(mode).save(buffer, fmt)
        result = hash_image_bytes(buffer.getvalue())
        assert hamming_distance(result.pdq, reference) <= 31, (mode, fmt)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _png_bomb(side: int) -> bytes:
    """A small PNG that decodes to side x side grey pixels (zeros compress ~1000:1)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = _png_header_only(side, side)[:-12]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return header + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_bad_inputs_give_clear_errors(conformance: Path, tmp_path: Path) -> None:
    good = (conformance / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    cases = {
        "empty.jpg": (b"", "empty file"),
        "truncated.jpg": (good[: len(good) // 3], "truncated or corrupt image"),
        "corrupt.jpg": (good[:200] + bytes(range(256)) * 40, "corrupt image \\(a JPEG header"),
        "broken.png": (_png_header_only(64, 64), "truncated or corrupt image"),
        "notes.txt": (b"just some text, not a picture\n", "not an image"),
        "bomb.png": (_png_bomb(11_000), "121 megapixels"),
        "huge.png": (_png_header_only(20_000, 10_000), "decompression bomb"),
    }
    for name, (data, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputError, match=reason) as caught:
            hash_file(path)
        assert str(path) in str(caught.value), name
    assert len(cases["bomb.png"][0]) < 200_000
    with pytest.raises(InputError, match="no such file"):
        hash_file(tmp_path / "missing.jpg")
    with pytest.raises(InputError, match="not a regular file"):
        hash_file(tmp_path)


def test_video_vpdq_and_match_rules(videos: dict[str, Path]) -> None:
    from safeguard.media.video import parse_vpdq_signal, vpdq_match_shares

    clip = hash_file(videos["clip"])
    assert clip.kind == "video" and clip.pdq is None
    assert len(clip.frames) == 6  # one frame a second
    assert [f.timestamp for f in clip.frames] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(len(f.pdq) == 64 and 0 <= f.quality <= 100 for f in clip.frames)
    assert parse_vpdq_signal(clip.to_signal()) == tuple(
        type(f)(f.pdq, f.quality, i, round(f.timestamp, 3)) for i, f in enumerate(clip.frames)
    )
    recoded = hash_file(videos["recoded"])
    assert recoded.md5 != clip.md5
    same = vpdq_match_shares(recoded.frames, clip.frames)
    assert same.query_percent >= 80 and same.is_match()
    other = vpdq_match_shares(hash_file(videos["other"]).frames, clip.frames)
    assert other.query_percent < 80 and not other.is_match()


def test_corrupt_video_is_reported(tmp_path: Path, videos: dict[str, Path]) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(InputError, match="cannot decode video"):
        hash_file(broken)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        hash_file(empty)
