"""Filter-evasion rewrites, the way offenders write around keyword filters.

``evade(text, rng)`` rewrites one chat message with one to three transforms,
preferring the words a filter would look for (platform names, "secret",
"pic", "gift", "money", "snap"...).  It is deterministic given the
``random.Random`` instance passed in.

Transforms (names as used in the README and in ``TRANSFORMS``):

* ``platform``   platform names written around filters: "sn@p", "s c", "snpchat",
  "d!sc0rd", "wh@ts@pp", "1nsta", "tele gram"...
* ``emoji``      emoji substitutions: 👻 snapchat, 📷/📸 pic/photo, 🤫 secret,
  🎁 gift/present, 💰/💵 money/cash
* ``leet``       leetspeak: a->4/@, e->3, i->1/!, o->0, s->5/$
* ``spaced``     spaced-out letters: "s n a p"
* ``dotted``     punctuation inserted: "s.n.a.p", "s-e-c-r-e-t"
* ``zero_width`` zero-width characters inside words (U+200B, U+200C, U+200D, U+2060, U+FEFF)
* ``homoglyph``  Cyrillic/Greek look-alikes (а, е, о, р, с, у, х, і, ο, ν)
* ``repeat``     repeated letters: "pleeease", "sooo"
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

ZERO_WIDTH: tuple[str, ...] = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")

LEET: dict[str, tuple[str, ...]] = {
    "a": ("4", "@"),
    "e": ("3",),
    "i": ("1", "!"),
    "o": ("0",),
    "s": ("5", "$"),
}

HOMOGLYPHS: dict[str, tuple[str, ...]] = {
    "a": ("а",),  # Cyrillic a
    "e": ("е",),  # Cyrillic ie
    "o": ("о", "ο"),  # Cyrillic o, Greek omicron
    "p": ("р",),  # Cyrillic er
    "c": ("с",),  # Cyrillic es
    "y": ("у",),  # Cyrillic u
    "x": ("х",),  # Cyrillic ha
    "i": ("і",),  # Ukrainian i
    "v": ("ν",),  # Greek nu
}

PLATFORM_SPELLINGS: dict[str, tuple[str, ...]] = {
    "snapchat": ("sn@pchat", "snpchat", "s c", "snap chat", "sn4pch4t", "👻", "snappy", "sc"),
    "snap": ("sn@p", "s c", "snp", "sn4p", "👻", "snapp", "s-n-a-p", "the ghost app"),
    "discord": ("d!sc0rd", "disc", "dscrd", "d1scord", "disc0rd", "the d app"),
    "whatsapp": ("wh@ts@pp", "whats app", "w app", "wa", "whtsapp", "wh4tsapp"),
    "insta": ("1nsta", "1nst4", "the gram", "ig", "inst@"),
    "instagram": ("1nstagram", "insta gram", "the gram", "ig", "instagr@m"),
    "telegram": ("tele gram", "telegr@m", "tg", "t3legram", "tele"),
    "kik": ("k1k", "k i k", "kk app"),
    "facetime": ("face time", "f@cetime", "ft"),
    "signal": ("s1gnal", "sig"),
}

EMOJI_SUBS: dict[str, tuple[str, ...]] = {
    "snapchat": ("👻",),
    "snap": ("👻",),
    "pic": ("📷", "📸"),
    "pics": ("📷📷", "📸"),
    "photo": ("📷", "📸"),
    "selfie": ("🤳", "📸"),
    "picture": ("📷",),
    "secret": ("🤫",),
    "gift": ("🎁",),
    "present": ("🎁",),
    "money": ("💰", "💵"),
    "cash": ("💵", "💰"),
    "camera": ("📹", "📷"),
    "video": ("📹",),
    "kiss": ("😘",),
    "phone": ("📱",),
}

# Words a filter would most likely look for; targeted first when present.
TARGET_WORDS: frozenset[str] = frozenset(
    list(PLATFORM_SPELLINGS)
    + list(EMOJI_SUBS)
    + [
        "secret",
        "tell",
        "mum",
        "dad",
        "parents",
        "delete",
        "private",
        "alone",
        "meet",
        "address",
        "number",
        "old",
        "age",
        "school",
        "send",
        "robux",
        "vbucks",
        "gift",
        "card",
        "pretty",
        "mature",
        "bf",
        "gf",
        "trust",
        "promise",
        "pick",
        "bus",
        "room",
        "home",
        "car",
        "single",
        "kissing",
        "kissed",
        "please",
        "pls",
        "so",
    ]
)

WORD_RE = re.compile(r"[A-Za-z][A-Za-z']*")


def _leet(word: str, rng: random.Random) -> str:
    out = []
    for ch in word:
        subs = LEET.get(ch.lower())
        out.append(rng.choice(subs) if subs and rng.random() < 0.7 else ch)
    return "".join(out)


def _spaced(word: str, rng: random.Random) -> str:
    return " ".join(word)


def _dotted(word: str, rng: random.Random) -> str:
    return rng.choice((".", "-", "_", "*")).join(word)


def _zero_width(word: str, rng: random.Random) -> str:
    if len(word) < 2:
        return word
    out = [word[0]]
    for ch in word[1:]:
        if rng.random() < 0.5:
            out.append(rng.choice(ZERO_WIDTH))
        out.append(ch)
    if len(out) == len(word):  # guarantee at least one insertion
        out.insert(1, rng.choice(ZERO_WIDTH))
    return "".join(out)


def _homoglyph(word: str, rng: random.Random) -> str:
    out = []
    changed = False
    for ch in word:
        subs = HOMOGLYPHS.get(ch)
        if subs and rng.random() < 0.6:
            out.append(rng.choice(subs))
            changed = True
        else:
            out.append(ch)
    if not changed:
        for i, ch in enumerate(word):
            if ch in HOMOGLYPHS:
                out[i] = HOMOGLYPHS[ch][0]
                break
    return "".join(out)


def _repeat(word: str, rng: random.Random) -> str:
    vowels = [i for i, ch in enumerate(word) if ch.lower() in "aeiouy"]
    if not vowels:
        return word + word[-1] * rng.randint(2, 4)
    i = rng.choice(vowels)
    return word[: i + 1] + word[i] * rng.randint(2, 4) + word[i + 1 :]


def _platform(word: str, rng: random.Random) -> str:
    subs = PLATFORM_SPELLINGS.get(word.lower())
    return rng.choice(subs) if subs else _leet(word, rng)


def _emoji(word: str, rng: random.Random) -> str:
    subs = EMOJI_SUBS.get(word.lower())
    return rng.choice(subs) if subs else word


WordTransform = Callable[[str, random.Random], str]

TRANSFORMS: dict[str, WordTransform] = {
    "platform": _platform,
    "emoji": _emoji,
    "leet": _leet,
    "spaced": _spaced,
    "dotted": _dotted,
    "zero_width": _zero_width,
    "homoglyph": _homoglyph,
    "repeat": _repeat,
}

# Generic transforms usable on any word (platform/emoji need a matching word).
_GENERIC: tuple[str, ...] = ("leet", "spaced", "dotted", "zero_width", "homoglyph", "repeat")
_GENERIC_WEIGHTS: tuple[float, ...] = (3.0, 1.5, 1.0, 2.0, 2.0, 1.0)


def _pick_transform(word: str, rng: random.Random) -> str:
    low = word.lower()
    options: list[str] = list(_GENERIC)
    weights: list[float] = list(_GENERIC_WEIGHTS)
    if low in PLATFORM_SPELLINGS:
        options.append("platform")
        weights.append(15.0)
    if low in EMOJI_SUBS:
        options.append("emoji")
        weights.append(6.0)
    if low in ("please", "pls", "so", "plz", "pleeease", "no", "ok"):
        options.append("repeat")
        weights.append(4.0)
    return rng.choices(options, weights=weights, k=1)[0]


def evade(text: str, rng: random.Random) -> str:
    """Rewrite ``text`` with one to three filter-evasion transforms.

    Words a filter would target (platform names, "secret", "pic", "gift"...)
    are chosen first; otherwise random words of three or more letters. Text
    without any such word is returned unchanged.
    """
    matches = [m for m in WORD_RE.finditer(text) if len(m.group()) >= 2]
    if not matches:
        return text
    targeted = [m for m in matches if m.group().lower() in TARGET_WORDS]
    others = [m for m in matches if m not in targeted and len(m.group()) >= 3]
    n_edits = rng.choices((1, 2, 3), weights=(5, 3, 1), k=1)[0]
    chosen: list[re.Match[str]] = []
    pool_t = targeted[:]
    pool_o = others[:]
    while len(chosen) < n_edits and (pool_t or pool_o):
        src = pool_t if pool_t and (not pool_o or rng.random() < 0.8) else pool_o
        chosen.append(src.pop(rng.randrange(len(src))))
    if not chosen:
        return text
    chosen.sort(key=lambda m: m.start())
    out: list[str] = []
    last = 0
    for m in chosen:
        word = m.group()
        name = _pick_transform(word, rng)
        out.append(text[last : m.start()])
        out.append(TRANSFORMS[name](word, rng))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


__all__ = ["EMOJI_SUBS", "HOMOGLYPHS", "PLATFORM_SPELLINGS", "TRANSFORMS", "ZERO_WIDTH", "evade"]
