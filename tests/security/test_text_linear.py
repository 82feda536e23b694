"""Hostile text costs time linear in its length (issue: one 32 KB message froze the service).

``normalize("a " * n)`` was cubic (0.86 s at n=500, 34.7 s at n=2,000). These
tests build adversarial shapes, time each text stage at two lengths eight times
apart and assert the cost grew by well under the 64x a quadratic stage would show.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.ingest import Message
from safeguard.text import load_detector
from safeguard.text.normalize import normalize
from safeguard.text.signals import default_extractor

normalize_module = importlib.import_module("safeguard.text.normalize")
# The normaliser without its small-message cache, so each timing does the work.
uncached_normalize = getattr(normalize, "__wrapped__", normalize)

SMALL = 2_000
GROWTH = 8  # the long input is this many times the short one
# Linear work grows ~8x; allow for noise and constant costs. Quadratic would be ~64x.
MAX_RATIO = 24.0

# name: (prefix, repeated unit, suffix)
SHAPES: dict[str, tuple[str, str, str]] = {
    "spaced letters": ("", "a ", ""),
    "spaced keyword": ("", "s n a p ", ""),
    "dotted letters": ("", "s.n.a.p.", ""),
    "starred letters": ("", "a*", ""),
    "spaced digits": ("", "1 ", ""),
    "repeated separators": ("", ". - _ * / ", ""),
    "one character": ("", "a", ""),
    "one character then a dot": ("", "a", "."),
    "leet symbols then a letter": ("", "@", " a@"),
    "zero-width joined": ("", "snap\u200b", ""),
    "many emoji": ("", "😘👻📸", ""),
    "deep combining marks": ("a", "\u0301\u0323", ""),
    "homoglyphs": ("", "ѕnаp ", ""),
    "leetspeak": ("", "s3cr3t ", ""),
    "entities": ("", "&amp;&lt;", ""),
}


def _text(shape: tuple[str, str, str] | str, length: int) -> str:
    prefix, unit, suffix = ("", shape, "") if isinstance(shape, str) else shape
    body = length - len(prefix) - len(suffix)
    return prefix + (unit * (body // len(unit) + 1))[:body] + suffix


def _cost(stage: Callable[[str], object], text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        stage(text)
        best = min(best, time.perf_counter() - start)
    return best


def _growth(stage: Callable[[str], object], short: str, long: str) -> float:
    stage(short)  # warm caches and lazy compilation
    return _cost(stage, long) / max(_cost(stage, short), 1e-5)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_normalize_is_linear_on_adversarial_shapes(name: str) -> None:
    shape = SHAPES[name]
    short, long = _text(shape, SMALL), _text(shape, SMALL * GROWTH)
    ratio = _growth(uncached_normalize, short, long)
    assert ratio < MAX_RATIO, f"{name}: 8x longer input cost {ratio:.1f}x more"


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_signal_extraction_is_linear_on_adversarial_shapes(name: str) -> None:
    extractor = default_extractor()
    shape = SHAPES[name]
    short, long = _text(shape, SMALL), _text(shape, SMALL * GROWTH)
    ratio = _growth(extractor.extract, short, long)
    assert ratio < MAX_RATIO, f"{name}: 8x longer input cost {ratio:.1f}x more"


_ADVERSARIAL_ALPHABET = st.sampled_from(
    [*"as1@$!.-_*/\\ ", "\u200b", "\u0301", "\u0323", "😘", "👻", "а", "ѕ", "&amp;", "snap", "pic"]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ADVERSARIAL_ALPHABET, min_size=1, max_size=12).map("".join))
def test_normalize_is_linear_for_any_repeated_unit(unit: str) -> None:
    short, long = _text(unit, SMALL), _text(unit, SMALL * GROWTH)
    ratio = _growth(uncached_normalize, short, long)
    assert ratio < MAX_RATIO, f"unit {unit!r}: 8x longer input cost {ratio:.1f}x more"


def test_the_reported_message_is_cheap() -> None:
    """The message that froze the service: ``"a " * 16000`` (32 KB)."""
    cost = _cost(uncached_normalize, "a " * 16_000, repeats=1)
    plain = _cost(uncached_normalize, ("hello there my friend how are you " * 1000)[:32_000])
    assert cost < max(50 * plain, 0.5), f"took {cost:.3f}s (plain text of that length: {plain:.4f}s)"


def test_long_messages_do_not_fill_the_normalize_cache() -> None:
    before = normalize_module._normalize_cached.cache_info().currsize
    for i in range(50):
        normalize(f"{i} " + "x" * 5_000)
    assert normalize_module._normalize_cached.cache_info().currsize == before


def test_evasions_still_fold_after_the_linear_rewrite() -> None:
    assert normalize("add me on s n a p") == "add me on snap"
    assert normalize("send me a p i c") == "send me a pic"
    assert normalize("s.n.a.p me") == "snap me"
    assert normalize("sec*ret") == "secret"
    assert normalize("our s3cr3t") == "our secret"
    assert normalize("a" + "\u0301" * 5000) == "a"


def test_conversation_state_cost_is_linear() -> None:
    """The whole per-message path of the detector (fast path; the embedding stage
    truncates its input to the model's window)."""
    detector = load_detector(embeddings=False)

    def add(text: str) -> None:
        detector.new_conversation("c").add_message(Message("c", "m", "u1", text))

    for name in ("spaced keyword", "many emoji", "deep combining marks", "one character then a dot"):
        shape = SHAPES[name]
        ratio = _growth(add, _text(shape, SMALL), _text(shape, SMALL * GROWTH))
        assert ratio < MAX_RATIO, f"{name}: 8x longer input cost {ratio:.1f}x more"
