"""The tactic-similarity stage: static token vectors from the installed model, the word
cache, the cached table, and what it adds to a conversation."""

from __future__ import annotations

import numpy as np
import pytest

from safeguard.ingest.records import Message
from safeguard.text import Detector
from safeguard.text.normalize import normalize
from safeguard.text.similarity import cache_dir, default_similarity


def test_the_word_cache_gives_the_tokenizer_path_exactly() -> None:
    """Each distinct word is tokenized once; the message vectors are unchanged by it."""
    encoder = default_similarity().encoder
    texts = [normalize(t) for t in ("r u home alone?", "send me a pic of u", "lol ok", "", "!!!")]
    cached = encoder.encode(texts)
    expected = np.zeros_like(cached)
    for row, encoding in enumerate(encoder.tokenizer.encode_batch(texts, add_special_tokens=False)):
        if encoding.ids:
            expected[row] = encoder.weights[encoding.ids] @ encoder.table[encoding.ids]
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    assert np.allclose(cached, expected / norms, atol=1e-6)
    assert not cached[3].any() and np.isfinite(cached).all()


def test_tactics_sit_closer_to_the_bank_than_small_talk() -> None:
    stage = default_similarity()
    tactic, talk = stage.scores(
        ["are ur parents home rn? dont tell them we talk", "what did u have for lunch"]
    )
    assert tactic > talk


def test_scores_are_cached_for_short_texts_only() -> None:
    stage = default_similarity()
    stage.scores(["a short line we have not seen before"])
    assert normalize("a short line we have not seen before") in stage._cache
    long = "word " * 200
    stage.scores([long])
    assert normalize(long) not in stage._cache


def test_the_table_is_cached_where_the_settings_say(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAFEGUARD_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("SAFEGUARD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "safeguard"


def _risk(detector: Detector, lines: list[str]) -> float:
    state = detector.new_conversation("c")
    for i, line in enumerate(lines):
        state.add_message(Message("c", str(i), "a" if i % 2 == 0 else "b", line))
    return state.risk


def test_phrasing_the_patterns_miss_still_raises_the_risk() -> None:
    """Lines written around the lexicon (no pattern fires) but close to the tactic bank."""
    lines = [
        "u can always come to me about anything, im the only one who gets u",
        "ok",
        "ur folks would go mad if they saw our msgs wouldnt they",
        "yeah lol",
        "lets keep this just us yeah",
        "ok",
    ]
    with_similarity, lexicon_only = Detector(), Detector(similarity=False)
    assert _risk(with_similarity, lines) > _risk(lexicon_only, lines)


def test_a_childs_own_messages_and_two_word_replies_are_not_measured() -> None:
    detector = Detector()
    assert not detector.wants_similarity("dont tell my mum lol", "child")
    assert not detector.wants_similarity("ok lol", None)
    assert detector.wants_similarity("dont tell ur mum about me", "adult")
    assert not Detector(similarity=False).wants_similarity("dont tell ur mum about me", "adult")
