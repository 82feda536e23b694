"""On-device matching: hash in memory, match against a verified bundle, report hashes only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from client_helpers import random_hashes

from safeguard.client import BundlePolicy, ClientMatcher, encode_bundle, verify_bundle
from safeguard.errors import InputError
from safeguard.media.pdq_index import parse_pdq_hashes

NOW = datetime.now(UTC)


def bundle_of(private_key, hashes: list[str], ids: list[int], *, since=None, total=None, version=None):  # type: ignore[no-untyped-def]
    data = encode_bundle(
        private_key=private_key,
        bank="known",
        hashes=parse_pdq_hashes(hashes),
        ids=np.asarray(ids, dtype=np.int64),
        version=version or max(ids),
        total=total or len(ids),
        since=since,
        valid_until=NOW + timedelta(days=1),
        policy=BundlePolicy(),
    )
    return verify_bundle(data, private_key.public_key())


@pytest.fixture
def known(private_key, published: dict[str, str]):  # type: ignore[no-untyped-def]
    """A bundle: 300 random hashes and, as entry 500, the bridge photo's published hash."""
    hashes = [*random_hashes(300), published["bridge-mods/aaa-orig.jpg"]]
    return bundle_of(private_key, hashes, [*range(1, 301), 500])


@pytest.mark.parametrize("mode", ["index", "scan"])
def test_edited_photo_matches_its_entry(known, photos: Path, mode: str) -> None:  # type: ignore[no-untyped-def]
    matcher = ClientMatcher(known, mode=mode)
    report = matcher.match_image((photos / "bridge-mods" / "sharpen-a-lot.jpg").read_bytes())
    assert report.matched and not report.too_weak
    assert [m.entry_id for m in report.matches] == [500]
    assert report.matches[0].distance <= 31 and report.bank == "known" and report.bundle_version == 500
    body = report.to_dict()
    assert set(body) == {
        "bank",
        "bundle_version",
        "pdq",
        "pdq_quality",
        "too_weak",
        "match_distance",
        "matched",
        "matches",
    }
    assert body["matches"] == [{"entry_id": 500, "distance": report.matches[0].distance}]


@pytest.mark.parametrize("mode", ["index", "scan"])
def test_unrelated_and_weak_images_do_not_match(known, photos: Path, mode: str) -> None:  # type: ignore[no-untyped-def]
    matcher = ClientMatcher(known, mode=mode)
    unrelated = matcher.match_image((photos / "labelme" / "q0122.jpg").read_bytes())
    assert not unrelated.matched and not unrelated.too_weak
    weak = matcher.match_image((photos / "misc" / "small.jpg").read_bytes())
    assert weak.too_weak and not weak.matched


def test_scan_and_index_find_the_same_entries(private_key) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    base = parse_pdq_hashes(random_hashes(5000, seed=11))
    queries = []
    for d in (0, 5, 20, 31, 32, 40):  # near-duplicates at chosen distances
        bits = np.zeros(256, dtype=np.uint8)
        bits[rng.choice(256, d, replace=False)] = 1
        queries.append((base[d] ^ np.packbits(bits).view("<u8")).tobytes().hex())
    bundle = bundle_of(private_key, [r.tobytes().hex() for r in base], list(range(1, 5001)))
    index, scan = ClientMatcher(bundle, mode="index"), ClientMatcher(bundle, mode="scan")
    for q in queries:
        assert index.match_hash(q) == scan.match_hash(q)
    assert [len(index.match_hash(q)) for q in queries] == [1, 1, 1, 1, 0, 0]
    assert scan.nbytes < index.nbytes


def test_submission_is_accepted_by_the_hash_only_api_schema(known, photos: Path) -> None:  # type: ignore[no-untyped-def]
    from safeguard.api.schemas.media import MediaHashesIn

    report = ClientMatcher(known).match_image((photos / "bridge-mods" / "blur-a-little.jpg").read_bytes())
    body = report.to_submission("acct-1", ["acct-2"], "m-9")
    parsed = MediaHashesIn.model_validate(body)
    assert parsed.pdq == report.pdq and parsed.md5 is None and parsed.sender_id == "acct-1"
    assert set(body) == {"sender_id", "recipient_ids", "message_id", "pdq"}
    exact = MediaHashesIn.model_validate(report.to_submission("acct-1", include_exact=True))
    assert exact.md5 == report.md5 and exact.sha256 == report.sha256

    weak = ClientMatcher(known).match_image((photos / "misc" / "small.jpg").read_bytes())
    with pytest.raises(InputError, match="too weak"):
        weak.to_submission("acct-1")
    assert "pdq" not in weak.to_submission("acct-1", include_exact=True)


def test_submission_carries_the_device_nudity_score(known, photos: Path) -> None:  # type: ignore[no-untyped-def]
    from safeguard.api.schemas.media import MediaHashesIn

    matcher = ClientMatcher(known, nudity_scorer=lambda _rgb: 0.87654)  # a stub: the photo is a bridge
    report = matcher.match_image((photos / "bridge-mods" / "blur-a-little.jpg").read_bytes())
    body = report.to_submission("acct-1", ["acct-2"], conversation_id="conv-9")
    parsed = MediaHashesIn.model_validate(body)
    assert parsed.nudity_score == 0.8765 and parsed.conversation_id == "conv-9"


@pytest.mark.parametrize("mode", ["index", "scan"])
def test_update_with_a_delta_matches_new_entries(private_key, published, photos: Path, mode: str) -> None:  # type: ignore[no-untyped-def]
    first = bundle_of(private_key, random_hashes(100), list(range(1, 101)))
    matcher = ClientMatcher(first, mode=mode)
    image = (photos / "dih" / "bridge-1-original.jpg").read_bytes()
    assert not matcher.match_image(image).matched
    delta = bundle_of(
        private_key, [published["bridge-mods/aaa-orig.jpg"]], [150], since=100, total=101, version=150
    )
    matcher.update(delta)
    report = matcher.match_image(image)
    assert [m.entry_id for m in report.matches] == [150] and report.bundle_version == 150


def test_optional_nudity_scorer_adds_only_a_score(known, photos: Path) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[int, ...]] = []

    def stub(rgb: np.ndarray) -> float:
        seen.append(rgb.shape)
        return 0.01

    report = ClientMatcher(known, nudity_scorer=stub).match_image((photos / "misc" / "wee.jpg").read_bytes())
    assert report.nudity_score == 0.01 and seen == [(42, 34, 3)]
    assert report.to_dict()["nudity_score"] == 0.01


def test_bad_mode_is_refused(known) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="mode"):
        ClientMatcher(known, mode="fast")
