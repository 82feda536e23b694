"""Evasion-resistant text normalisation.

Offenders write around keyword filters: leetspeak ("s3cr3t", "sn@p"), letters
spaced or dotted apart ("s n a p", "s.n.a.p"), zero-width characters inside
words, Cyrillic/Greek look-alike letters, emoji standing in for words and
stretched letters ("pleeease"). ``normalize`` folds all of these into plain
lower-case ASCII-ish text that the signal patterns are written against.

Written by hand because no maintained library folds *chat* evasions: Unicode
confusable tables (e.g. ``confusable_homoglyphs``) cover homoglyphs only, and
leet/spacing/emoji folding is domain-specific. The homoglyph table below is the
subset of Unicode's confusables.txt that maps to Latin letters used in chat.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import regex

# Characters that render as nothing and are used to split words.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
        "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
        "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0",
    ),
    None,
)

# Cyrillic, Greek and other look-alikes of Latin letters (lower-cased first).
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "һ": "h",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ɡ": "g",
        "ӏ": "l",
        "ᴀ": "a",
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "γ": "y",
        "ω": "w",
        "ϲ": "c",
        "ɑ": "a",
        "ı": "i",
        "ℓ": "l",
        "ѵ": "v",
        "ս": "u",
        "օ": "o",
        "ց": "g",
        "ɩ": "i",
        "ʏ": "y",
        "ᴄ": "c",
        "ᴅ": "d",
        "ᴇ": "e",
        "ɢ": "g",
        "ʜ": "h",
        "ɪ": "i",
        "ᴊ": "j",
        "ᴋ": "k",
        "ʟ": "l",
        "ᴍ": "m",
        "ɴ": "n",
        "ᴏ": "o",
        "ᴘ": "p",
        "ʀ": "r",
        "ꜱ": "s",
        "ᴛ": "t",
        "ᴜ": "u",
        "ᴠ": "v",
        "ᴡ": "w",
        "ᴢ": "z",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ł": "l",
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
    }
)

# Emoji that stand in for the words the patterns look for.
_EMOJI_WORDS = {
    "👻": " snapchat ",
    "📷": " pic ",
    "📸": " pic ",
    "🖼": " pic ",
    "🤳": " selfie ",
    "🎥": " video ",
    "📹": " video ",
    "🤫": " secret ",
    "🙊": " secret ",
    "🤐": " secret ",
    "🎁": " gift ",
    "💰": " money ",
    "💵": " money ",
    "💸": " money ",
    "💲": " money ",
    "🤑": " money ",
    "💳": " card ",
    "🏠": " home ",
    "🏡": " home ",
    "🏫": " school ",
    "🚗": " car ",
    "🚙": " car ",
    "📍": " location ",
    "📱": " phone ",
    "☎": " phone ",
    "📞": " phone ",
    "😘": " kiss ",
    "💋": " kiss ",
    "😍": " love ",
    "❤": " love ",
    "♥": " love ",
    "💕": " love ",
    "💖": " love ",
    "💗": " love ",
    "🥰": " love ",
    "🔥": " hot ",
    "👀": " look ",
    "🍑": " body ",
    "🍆": " body ",
    "🛏": " bed ",
    "🎮": " game ",
    "💎": " gems ",
    "🪙": " coins ",
}
_EMOJI_TABLE = str.maketrans(_EMOJI_WORDS)  # every key is one code point

# Leetspeak inside a word: only applied to tokens that mix letters with these.
_LEET = str.maketrans(
    {
        "4": "a",
        "@": "a",
        "3": "e",
        "1": "i",
        "!": "i",
        "0": "o",
        "5": "s",
        "$": "s",
        "7": "t",
        "+": "t",
        "8": "b",
        "9": "g",
        "|": "l",
        "€": "e",
        "£": "l",
        "¡": "i",
    }
)
_LEET_CHARS = "4@31!05$7+89|€£¡"
# Tokens start only where no token character precedes them: without the
# lookbehind a long run of symbols is retried from every position (quadratic).
_TOKEN_WITH_LEET = re.compile(r"(?<![a-z0-9@!$+|€£¡])[a-z0-9@!$+|€£¡]*[a-z][a-z0-9@!$+|€£¡]*")

# "s n a p", "s.n.a.p", "s-n-a-p", "s_n_a_p", "s*n*a*p": three or more single letters.
_SPACED = re.compile(r"(?<![a-z0-9])(?:[a-z0-9@$!][ .\-_*/\\]{1,2}){2,}[a-z0-9@$!](?![a-z0-9])")
_SEPARATOR = re.compile(r"[ .\-_*/\\]")
# Stretched letters: three or more of the same letter become two ("pleeease" -> "pleease").
_STRETCH = re.compile(r"([a-z])\1{2,}")
_WS = re.compile(r"\s+")
# Letters split by dots or stars inside a word: "s.e.c.r.e.t" handled above, "sec*ret" here.
# Possessive runs that start at a word's first character: linear on "aaaa...a.".
_INNER_PUNCT = re.compile(r"(?<![a-z0-9@$!|])[a-z0-9@$!|]++(?:[*.][a-z0-9@$!|]++)+")


def _drop_inner_punct(match: re.Match[str]) -> str:
    """"sec*ret" -> "secret"; "sec.r3t" -> "secret" but "ok.send" stays (only
    dotted words that spell a keyword are joined; stars always are)."""
    token = match.group(0)
    if "." not in token:
        return token.replace("*", "")
    joined = token.replace("*", "").replace(".", "")
    if joined in SPELLED_KEYWORDS or joined.translate(_LEET) in SPELLED_KEYWORDS:
        return joined
    return token.replace("*", "")


def _deleet_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if not any(ch in _LEET_CHARS for ch in token):
        return token
    # Trailing "!!!" or "1!!" is emphasis, not a letter.
    stripped = token.rstrip("!1")
    if stripped != token and stripped and not any(ch in _LEET_CHARS for ch in stripped):
        return token
    if stripped != token and stripped:
        return _deleet_token_core(stripped) + token[len(stripped) :]
    return _deleet_token_core(token)


def _deleet_token_core(token: str) -> str:
    letters = sum(ch.isalpha() for ch in token)
    # Leave real numbers and times ("13", "4pm", "2nite") mostly alone: a token
    # needs at least two letters and a leet character between or after letters.
    if letters < 2 and not (letters == 1 and len(token) >= 3):
        return token
    if _NUMBER_WITH_UNIT.fullmatch(token):
        return token
    # Digits ending a word are a number ("im14", "asl13") or say themselves ("gr8",
    # "m8", "b4", "any1"), not leet: folding them would turn ages into letters
    # ("im14" -> "imia"). A single 0, 3, 5, 7 or 9 there is leet ("th3", "hell0").
    tail = _TRAILING_DIGITS.search(token)
    if tail is not None and tail.start() > 0 and (len(tail.group(0)) > 1 or tail.group(0) in "12468"):
        head = token[: tail.start()]
        return head.translate(_LEET) + tail.group(0)
    return token.translate(_LEET)


_NUMBER_WITH_UNIT = re.compile(r"\d+(am|pm|th|st|nd|rd|s|yo|y|yrs|k|m|f)")
_TRAILING_DIGITS = re.compile(r"\d+$")
# "im14", "asl13", "age12": an age glued to the word before it is split off.
_GLUED_AGE = re.compile(r"\b(im|iam|ima|asl|age|aged)(\d{1,2})\b")


# Words worth re-joining when spelled out letter by letter. Joining every run of
# single letters would wreck ordinary chat ("u r 2 cute"), so only runs that
# spell one of these (after leet folding) are joined.
SPELLED_KEYWORDS = frozenset(
    [
        "snap",
        "snapchat",
        "kik",
        "discord",
        "whatsapp",
        "insta",
        "instagram",
        "telegram",
        "skype",
        "wickr",
        "signal",
        "viber",
        "line",
        "text",
        "call",
        "phone",
        "number",
        "pic",
        "pics",
        "pix",
        "photo",
        "photos",
        "selfie",
        "video",
        "vid",
        "cam",
        "webcam",
        "facetime",
        "nude",
        "nudes",
        "naked",
        "secret",
        "delete",
        "meet",
        "alone",
        "home",
        "address",
        "school",
        "age",
        "asl",
        "sexy",
        "sex",
        "bra",
        "body",
        "kiss",
        "money",
        "gift",
        "cash",
        "paypal",
        "venmo",
        "cashapp",
        "robux",
        "vbucks",
    ]
)


def _keyword_trie() -> dict:
    """``SPELLED_KEYWORDS`` as a character trie; ``"$"`` marks the end of a keyword."""
    root: dict = {}
    for word in SPELLED_KEYWORDS:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node["$"] = True
    return root


_TRIE = _keyword_trie()


def _join_spaced(match: re.Match[str]) -> str:
    """Join each stretch of a spaced-out run that spells a keyword.

    "send me a p i c" has the run "a p i c": "apic" is no keyword, but its
    tail "pic" is, so the result is "a pic". A left-to-right walk of the
    keyword trie, longest keyword first, keeps this linear in the run (times
    the longest keyword): the run can be as long as the message.
    """
    chars = [c for c in _SEPARATOR.split(match.group(0)) if c]
    folded = [c.translate(_LEET) for c in chars]
    parts: list[str] = []
    joined_any = False
    i, n = 0, len(chars)
    while i < n:
        node, end = _TRIE, 0
        j = i
        while j < n and len(folded[j]) == 1 and folded[j] in node:
            node = node[folded[j]]
            j += 1
            if "$" in node:
                end = j
        if end - i >= 2:
            parts.append("".join(chars[i:end]))
            joined_any = True
            i = end
        else:
            parts.append(chars[i])
            i += 1
    if not joined_any:
        return match.group(0)
    return " " + " ".join(parts) + " "


_LEET_ADJACENT = re.compile(r"[a-z][0-9@!$+|€£¡]|[0-9@$+|€£¡][a-z]")
_MAYBE_SPACED = re.compile(r"(?<![a-z0-9])[a-z0-9@$!][ .\-_*/\\]{1,2}[a-z0-9@$!][ .\-_*/\\]")


# Unicode's stream-safe limit (UAX #15): NFKC/NFKD reorder a run of combining
# marks in time quadratic in its length, so longer runs are cut to this.
MAX_COMBINING_RUN = 30
_COMBINING_RUN = regex.compile(rf"\p{{M}}{{{MAX_COMBINING_RUN + 1},}}")
# Messages up to this length are cached (chat repeats "hi", "lol", "ok"); longer
# ones would let a sender fill memory with the cache.
CACHED_CHARS = 256


def normalize(text: str) -> str:
    """Fold evasions into plain lower-case text the signal patterns can read.

    Time and memory are linear in the length of ``text`` for any input.
    """
    if len(text) <= CACHED_CHARS:
        return _normalize_cached(text)
    return _normalize(text)


@lru_cache(maxsize=65536)
def _normalize_cached(text: str) -> str:
    return _normalize(text)


def _fold_unicode(text: str) -> str:
    """NFKC, invisible characters, emoji words, homoglyphs and accents folded away."""
    text = text.translate(_INVISIBLE)
    text = _COMBINING_RUN.sub(lambda m: m.group(0)[:MAX_COMBINING_RUN], text)
    folded = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    folded = folded.translate(_EMOJI_TABLE)
    folded = folded.lower().translate(_HOMOGLYPHS)
    if folded.isascii():  # emoji and look-alikes only
        return folded
    # Strip combining accents left after NFKC ("ş" -> "s") but keep other scripts.
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))
    if not folded.isascii():  # a letter freed from its accent may itself fold ("ǣ" -> "æ" -> "ae")
        folded = folded.translate(_HOMOGLYPHS)
    return folded


def _normalize(text: str) -> str:
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)  # scraped logs (PAN12) keep entities such as &apos;
    # Most chat is ASCII: no Unicode folding, emoji or homoglyphs to undo.
    folded = text.lower().translate(_HOMOGLYPHS) if text.isascii() else _fold_unicode(text)
    # Joining spaced letters, dropping inner dots and folding leet can each
    # enable another ("sec.r3t"): repeat until nothing changes (at most 3 rounds).
    for _ in range(3):
        before = folded
        if _MAYBE_SPACED.search(folded):
            folded = _SPACED.sub(_join_spaced, folded)
        if "*" in folded or "." in folded:
            folded = _INNER_PUNCT.sub(_drop_inner_punct, folded)
        if _LEET_ADJACENT.search(folded):
            folded = _TOKEN_WITH_LEET.sub(_deleet_token, folded)
        if folded == before:
            break
    folded = _STRETCH.sub(r"\1\1", folded)
    if any(ch.isdigit() for ch in folded):
        folded = _GLUED_AGE.sub(r"\1 \2", folded)
    return " ".join(folded.split())
