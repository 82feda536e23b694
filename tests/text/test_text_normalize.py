"""normalize(): evasion folding (leetspeak, spacing, invisible characters,
homoglyphs, emoji, stretched letters) and its properties."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from safeguard.text.normalize import _INVISIBLE, SPELLED_KEYWORDS, normalize

INVISIBLE_CHARS = [chr(code) for code in _INVISIBLE]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("s3cr3t", "secret"),
        ("sn@p", "snap"),
        ("d!sc0rd", "discord"),
        ("wh@ts@pp", "whatsapp"),
        ("h0w 0ld r u", "how old r u"),
        ("m33t", "meet"),
    ],
)
def test_leetspeak_folds_inside_words(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["im 13", "4pm", "2nite", "see u at 7", "i got 100", "1st", "9yo"])
def test_numbers_and_times_are_not_deleeted(raw: str) -> None:
    assert normalize(raw) == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("add me on s n a p", "add me on snap"),
        ("s.n.a.p", "snap"),
        ("s-n-a-p", "snap"),
        ("s_n_a_p", "snap"),
        ("s*n*a*p", "snap"),
        ("k i k", "kik"),
        ("s e c r e t", "secret"),
        ("5 n 4 p", "snap"),  # leet inside a spelled-out word
    ],
)
def test_spelled_out_keywords_are_joined(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["u r 2 cute", "i c u", "a b c d", "x y z", "u n me"])
def test_single_letter_chat_that_spells_no_keyword_is_left_alone(raw: str) -> None:
    assert normalize(raw) == raw


def test_only_keywords_are_joined() -> None:
    assert "snap" in SPELLED_KEYWORDS and "cute" not in SPELLED_KEYWORDS
    assert normalize("c u t e") == "c u t e"


def test_spelled_keyword_after_single_letter_word_is_joined() -> None:
    assert normalize("send me a p i c") == "send me a pic"


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_zero_width_characters_are_removed(invisible: str) -> None:
    assert normalize(f"m{invisible}u{invisible}m") == "mum"
    assert normalize(f"s{invisible}n{invisible}a{invisible}p") == "snap"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u0430l\u043en\u0435", "alone"),  # Cyrillic a, o, e
        ("\u0441\u0430m", "cam"),  # Cyrillic es, a
        ("\u03c1ic", "pic"),  # Greek rho
        ("\u03bfld", "old"),  # Greek omicron
        ("ΑΒΓ", "aby"),  # upper-case Greek lowers first
        ("\uff33\uff4e\uff41\uff50", "snap"),  # full-width letters (NFKC)
        ("s\u0327ecret", "secret"),  # combining accent stripped
    ],
)
def test_homoglyphs_fold_to_latin(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("add me on 👻", "add me on snapchat"),
        ("send a 📸", "send a pic"),
        ("our 🤫", "our secret"),
        ("ill get u a 🎁", "ill get u a gift"),
        ("👻📸", "snapchat pic"),
    ],
)
def test_emoji_become_words(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_stretched_letters_shrink_to_two() -> None:
    assert normalize("pleeeeease") == "pleease"
    assert normalize("sooooo") == "soo"
    assert normalize("pleease") == "pleease"  # two is left as is


@pytest.mark.parametrize("raw", ["wow!!", "hello!!!", "no way!!", "omg 1!!", "yes!!!1"])
def test_trailing_exclamation_is_not_a_letter(raw: str) -> None:
    assert normalize(raw) == raw  # "!!" stays emphasis: "wow!!" does not become "wowii"


def test_exclamation_inside_a_word_is_leet() -> None:
    assert normalize("d!sc0rd!!") == "discord!!"


def test_case_and_whitespace() -> None:
    assert normalize("  Add   ME\ton\nSNAP  ") == "add me on snap"
    assert normalize("") == ""
    assert normalize("   ") == ""


# -- properties ---------------------------------------------------------------

# Text biased towards the characters normalize treats specially.
_SPECIAL = [
    *"abcdefghijklmnopqrstuvwxyz 013457@!$.-_*|+89'`",
    "\u200b",
    "\u200d",
    "\ufeff",
    "а",
    "о",
    "е",
    "ρ",
    "ß",
    "æ",
    "👻",
    "🤫",
    "\u2019",
    "A",
    "Z",
]
chat_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.sampled_from(_SPECIAL), max_size=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chat_text)
def test_normalize_never_raises_and_returns_clean_text(text: str) -> None:
    out = normalize(text)
    assert isinstance(out, str)
    assert not any(ch in out for ch in INVISIBLE_CHARS)
    assert out == out.strip()
    assert "  " not in out
    assert out == out.lower() or any(not ch.isascii() for ch in out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz 0123456789?'")), max_size=60))
def test_normalize_is_idempotent_on_plain_chat(text: str) -> None:
    """Plain chat (letters, digits, spaces, no punctuation that splits words) is a fixed point
    after one pass."""
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chat_text)
@example("sec.r3t")
@example("ok.s3nd")
@example("@w*7n5")
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
