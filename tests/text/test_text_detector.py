"""Detector on the bundled demo conversations, load_detector, results and split_segment."""

from __future__ import annotations

import json

import pytest

from safeguard.ingest.records import Message, TextRecord
from safeguard.text import ConversationResult, Detector, load_detector, split_segment
from safeguard.text.detector import WINDOW_WORDS


def scan(detector: Detector, demo_messages: dict[str, list[Message]]) -> dict[str, ConversationResult]:
    flat = [m for msgs in demo_messages.values() for m in msgs]
    return {r.id: r for r in detector.scan_messages(flat)}


@pytest.fixture(scope="module")
def fast_results(
    fast_detector: Detector, demo_messages: dict[str, list[Message]]
) -> dict[str, ConversationResult]:
    return scan(fast_detector, demo_messages)


@pytest.fixture(scope="module")
def embedding_results(
    embedding_detector: Detector, demo_messages: dict[str, list[Message]]
) -> dict[str, ConversationResult]:
    return scan(embedding_detector, demo_messages)


@pytest.fixture(params=["embeddings", "fast"])
def results(request: pytest.FixtureRequest) -> dict[str, ConversationResult]:
    return request.getfixturevalue("embedding_results" if request.param == "embeddings" else "fast_results")


def test_every_demo_conversation_is_scored(
    results: dict[str, ConversationResult],
    demo_labels: dict[str, int],
    demo_messages: dict[str, list[Message]],
) -> None:
    assert set(results) == set(demo_labels)
    for cid, result in results.items():
        assert result.message_count == len(demo_messages[cid])
        assert 0.0 <= result.score <= 1.0


def test_grooming_demos_score_above_every_hard_negative(
    results: dict[str, ConversationResult], demo_labels: dict[str, int]
) -> None:
    grooming = {c: results[c].score for c, label in demo_labels.items() if label == 1}
    negatives = {c: results[c].score for c, label in demo_labels.items() if label == 0}
    assert min(grooming.values()) > max(negatives.values()), (grooming, negatives)


def test_grooming_demos_are_flagged(
    results: dict[str, ConversationResult], demo_labels: dict[str, int]
) -> None:
    for cid, label in demo_labels.items():
        if label == 1:
            assert results[cid].flagged, cid
            assert results[cid].first_flagged_index is not None
            assert results[cid].first_flagged_index < results[cid].message_count


def test_grooming_demos_name_the_adult(
    results: dict[str, ConversationResult],
    demo_labels: dict[str, int],
    demo_messages: dict[str, list[Message]],
) -> None:
    for cid, label in demo_labels.items():
        if label != 1:
            continue
        bands = {m.sender_id: m.sender_age_band for m in demo_messages[cid]}
        groomer = results[cid].likely_groomer
        assert groomer is not None and bands[groomer] not in {"child", "teen"}, cid
        assert results[cid].signals and all(s.sender_id in bands for s in results[cid].signals)


def test_evasion_demo_still_finds_the_tactics(results: dict[str, ConversationResult]) -> None:
    """demo-03 writes every tactic around filters (leet, homoglyphs, emoji, zero-width)."""
    found = {s.category for s in results["demo-03"].signals}
    assert {"platform_move", "secrecy", "image_request"} <= found


def test_embedding_stage_changes_scores(
    fast_results: dict[str, ConversationResult], embedding_results: dict[str, ConversationResult]
) -> None:
    assert any(abs(fast_results[c].score - embedding_results[c].score) > 1e-3 for c in fast_results)
    # The lexicon's reasons are the same with and without the embedding stage.
    for cid in fast_results:
        assert [s.category for s in fast_results[cid].signals] == [
            s.category for s in embedding_results[cid].signals
        ]


def test_result_to_dict_is_json_with_reasons(fast_results: dict[str, ConversationResult]) -> None:
    result = fast_results["demo-01"]
    plain = result.to_dict()
    assert "first_flagged_index" not in plain
    early = json.loads(json.dumps(result.to_dict(early=True)))
    assert early["first_flagged_index"] == result.first_flagged_index
    assert {
        "id",
        "score",
        "flagged",
        "stage",
        "stages",
        "signals",
        "categories",
        "child_context",
        "messages",
        "author_scores",
        "likely_groomer",
    } <= set(early)
    for signal in early["signals"]:
        assert {"category", "message_index", "excerpt", "weight", "reason", "sender_id"} <= set(signal)


def test_load_detector_is_cached_and_configurable() -> None:
    assert load_detector(embeddings=False) is load_detector(embeddings=False)
    strict = load_detector(threshold=0.9, embeddings=False)
    assert strict.threshold == 0.9 and strict.model is None and not strict.embeddings


def test_threshold_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="threshold"):
        Detector(threshold=1.5, embeddings=False)


def test_threshold_decides_flagged(demo_messages: dict[str, list[Message]]) -> None:
    lenient = scan(Detector(threshold=0.0, embeddings=False), demo_messages)
    never = scan(Detector(threshold=1.0, embeddings=False), demo_messages)
    assert all(r.flagged for r in lenient.values())
    assert not any(r.flagged for r in never.values())


def test_interleaved_conversations_are_kept_apart(
    fast_detector: Detector,
    demo_messages: dict[str, list[Message]],
    fast_results: dict[str, ConversationResult],
) -> None:
    a, b = demo_messages["demo-01"], demo_messages["demo-07"]
    interleaved = [m for pair in zip(a, b, strict=False) for m in pair] + a[len(b) :] + b[len(a) :]
    got = {r.id: r for r in fast_detector.scan_messages(interleaved)}
    assert got["demo-01"].score == pytest.approx(fast_results["demo-01"].score)
    assert got["demo-07"].score == pytest.approx(fast_results["demo-07"].score)


def test_score_record_segments_csv_text(fast_detector: Detector) -> None:
    text = "\n".join(
        [
            "how old are you?",
            "im 13",
            "ur so mature for ur age",
            "add me on snap",
            "dont tell ur mum",
            "send me a pic of you",
        ]
    )
    result = fast_detector.score_record(TextRecord("r1", text, label=1))
    assert result.label == 1 and result.flagged
    assert result.message_count == 6
    assert result.author_scores == {} and result.likely_groomer is None
    benign = fast_detector.score_record(TextRecord("r2", "what did you have for lunch\npasta lol"))
    assert benign.score < result.score and not benign.flagged


def test_split_segment() -> None:
    assert split_segment("") == []
    assert split_segment("a b\r\n\n c ") == ["a b", "c"]
    words = [f"w{i}" for i in range(WINDOW_WORDS * 2 + 3)]
    pieces = split_segment(" ".join(words))
    assert [len(p.split()) for p in pieces] == [WINDOW_WORDS, WINDOW_WORDS, 3]
    assert " ".join(pieces) == " ".join(words)


def test_hard_negative_demos_are_not_flagged(
    results: dict[str, ConversationResult], demo_labels: dict[str, int]
) -> None:
    flagged = [c for c, label in demo_labels.items() if label == 0 and results[c].flagged]
    assert flagged == []
