"""Generate the synthetic, labelled grooming evaluation set (deterministic).

Usage::

    .venv/bin/python benchmarks/evalset/generate.py

Writes, next to this file: ``conversations.jsonl``, ``conversations_evasion.jsonl``,
``labels.csv``, ``segments.csv`` and ``README.md``; prints the per-kind counts and
the most class-discriminative unigrams.  Re-running gives byte-identical output.

Conversations are composed from the hand-written phrase pools in ``phrases.py``:
a per-kind *plan* of tactic/topic beats, shared small talk between the beats,
and chat noise (abbreviations, typos, emojis) applied identically to both labels.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import phrases as P  # noqa: E402
from evade import evade  # noqa: E402

SEED = 20251122
N_GROOMING: dict[str, int] = {"grooming_slow": 70, "grooming_fast": 65, "grooming_subtle": 65}
N_NEGATIVE: dict[str, int] = {
    "adult_flirt": 34,
    "teen_friends": 34,
    "parent_child": 33,
    "gaming": 33,
    "surprise": 33,
    "support": 11,
    "tutoring": 11,
    "coach_parent": 11,
}
EVASION_MESSAGE_P = 0.6  # chance each message is rewritten in the evasion copy
BASE_TIME = datetime(2025, 1, 6, tzinfo=UTC)

# ---------------------------------------------------------------------------
# Vocabulary for placeholders and user ids.
# ---------------------------------------------------------------------------

FIRST_NAMES = [
    "amelia",
    "olivia",
    "isla",
    "ava",
    "mia",
    "lily",
    "sophie",
    "grace",
    "evie",
    "ella",
    "poppy",
    "freya",
    "chloe",
    "maya",
    "zara",
    "aisha",
    "leah",
    "ruby",
    "jess",
    "holly",
    "oliver",
    "jack",
    "harry",
    "leo",
    "noah",
    "charlie",
    "george",
    "oscar",
    "alfie",
    "jacob",
    "ethan",
    "liam",
    "tom",
    "sam",
    "kai",
    "zain",
    "max",
    "ryan",
    "dan",
    "josh",
]
HANDLE_WORDS = [
    "shadow",
    "wolf",
    "pixel",
    "ninja",
    "sky",
    "storm",
    "blaze",
    "frost",
    "lucky",
    "sunny",
    "gamer",
    "dragon",
    "viper",
    "panda",
    "kitty",
    "star",
    "moon",
    "rider",
    "ghost",
    "cookie",
    "sparkle",
    "bunny",
    "fox",
    "tiger",
    "skater",
    "dreamer",
    "bean",
    "ace",
    "nova",
    "echo",
]
GAMES = [
    "fortnite",
    "roblox",
    "minecraft",
    "valorant",
    "apex",
    "cod",
    "rocket league",
    "among us",
    "fifa",
    "overwatch",
    "brawl stars",
    "genshin",
]
CITIES = [
    "leeds",
    "manchester",
    "bristol",
    "derby",
    "norwich",
    "cardiff",
    "glasgow",
    "york",
    "brighton",
    "coventry",
    "hull",
    "swindon",
    "reading",
    "stoke",
    "luton",
    "exeter",
]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PLACES = [
    "park",
    "shops",
    "station",
    "mcdonalds",
    "cinema",
    "bus stop",
    "leisure centre",
    "high street",
]
TIMES = ["6", "half 5", "7", "4", "3:30", "8", "7pm", "quarter past 6", "5"]
SUBJECTS = ["maths", "science", "french", "english", "history", "geography", "art", "music"]
TEACHERS = ["patel", "jones", "clarke", "o'brien", "smith", "khan", "taylor", "evans"]
SIBLINGS = ["sister", "brother", "little sister", "little brother"]
MONEY = ["£10", "£20", "£5", "£15", "$20", "£50", "a tenner", "twenty quid"]
JOBS = ["nurse", "teacher", "accountant", "plumber", "developer", "solicitor", "chef", "paramedic"]
SCHOOLS = ["st marys", "the academy", "oakfield", "park high", "northgate", "riverside"]
SHOPS = ["tesco", "argos", "currys", "amazon", "asda"]

CHAT_EMOJI = ["😂", "😅", "🙂", "😊", "👍", "🙃", "😭", "💀", "lol", "haha", "lmao", "😆"]
ABBREV = {
    "you": "u",
    "are": "r",
    "your": "ur",
    "what": "wat",
    "please": "pls",
    "okay": "ok",
    "because": "cos",
    "tomorrow": "tmrw",
    "right now": "rn",
    "i don't know": "idk",
}
EXPAND = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "pls": "please",
    "wat": "what",
    "idk": "i dont know",
    "tmrw": "tomorrow",
    "rn": "right now",
}


@dataclass
class Person:
    """One participant in a synthetic conversation."""

    user_id: str
    age_band: str  # "child" | "teen" | "adult" | "unknown"
    role: str  # e.g. "groomer", "child", "parent", "peer"
    age: int | None = None


@dataclass
class Conversation:
    """A composed conversation before serialisation."""

    conversation_id: str
    kind: str
    label: int
    people: tuple[Person, Person]
    turns: list[tuple[int, str]] = field(default_factory=list)
    groomer_id: str = ""


def make_handle(rng: random.Random) -> str:
    """Return a realistic-looking user id (mixed styles, digits, separators)."""
    style = rng.randrange(7)
    name = rng.choice(FIRST_NAMES)
    word = rng.choice(HANDLE_WORDS)
    num = str(rng.randint(1, 9999))
    if style == 0:
        return f"{word}{rng.choice(HANDLE_WORDS)}{num}"
    if style == 1:
        return f"{name}_{num}"
    if style == 2:
        return f"user{rng.randint(10000, 9999999)}"
    if style == 3:
        return f"{name}.{rng.choice('abcdefghjklmprstw')}{rng.randint(0, 99):02d}"
    if style == 4:
        return f"xX{word.capitalize()}{num}Xx"
    if style == 5:
        return f"{word}_{name}{rng.randint(0, 99)}"
    return f"{name}{word}{num}"


def make_ctx(rng: random.Random, child_age: int, my_age: int) -> dict[str, str]:
    """Per-conversation placeholder values."""
    year = max(5, min(11, child_age - 4))
    return {
        "name": rng.choice(FIRST_NAMES),
        "friend": rng.choice(FIRST_NAMES),
        "game": rng.choice(GAMES),
        "city": rng.choice(CITIES),
        "age": str(child_age),
        "next_age": str(child_age + 1),
        "year": str(year),
        "next_year": str(min(13, year + 1)),
        "my_age": str(my_age),
        "day": rng.choice(DAYS),
        "place": rng.choice(PLACES),
        "time": rng.choice(TIMES),
        "subject": rng.choice(SUBJECTS),
        "teacher": rng.choice(TEACHERS),
        "sibling": rng.choice(SIBLINGS),
        "money": rng.choice(MONEY),
        "handle": make_handle(rng).lower(),
        "job": rng.choice(JOBS),
        "school": rng.choice(SCHOOLS),
        "shop": rng.choice(SHOPS),
    }


# ---------------------------------------------------------------------------
# Chat noise, identical for both labels.
# ---------------------------------------------------------------------------


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def chatify(text: str, rng: random.Random) -> str:
    """Apply realistic chat noise: abbreviation swaps, typos, emojis, caps."""
    words = text.split(" ")
    out: list[str] = []
    for w in words:
        low = w.lower()
        if low in ABBREV and rng.random() < 0.5:
            w = ABBREV[low]
        elif low in EXPAND and rng.random() < 0.08:
            w = EXPAND[low]
        elif rng.random() < 0.035:
            w = _typo(w, rng)
        out.append(w)
    s = " ".join(out)
    r = rng.random()
    if r < 0.07:
        s = s[:1].upper() + s[1:]
    elif r < 0.10 and len(s) < 40:
        s = s.upper() if rng.random() < 0.3 else s + "!!"
    if rng.random() < 0.04 and not s.endswith(("?", "!", ".")):
        s += "?" if rng.random() < 0.5 else "..."
    elif rng.random() < 0.08:
        s = f"{s} {rng.choice(CHAT_EMOJI)}"
    return s


# ---------------------------------------------------------------------------
# Composition.
# ---------------------------------------------------------------------------

# tactic name -> (adult pool, child reply pool, stage index, signal category)
TACTICS: dict[str, tuple[list[str], list[str], float, str]] = {
    "friendship": (P.G_FRIENDSHIP, P.C_FRIENDSHIP, 0.0, "rapport"),
    "relationship": (P.G_RELATIONSHIP, P.C_RELATIONSHIP, 1.0, "flattery_trust"),
    "ask_age": (P.G_ASK_AGE, P.C_AGE, 0.8, "age_location_probe"),
    "ask_where": (P.G_ASK_WHERE, P.C_WHERE, 1.5, "age_location_probe"),
    "ask_school": (P.G_ASK_SCHOOL, P.C_SCHOOL, 2.0, "age_location_probe"),
    "ask_home": (P.G_ASK_HOME, P.C_HOME, 2.2, "age_location_probe"),
    "personal_info": (P.G_PERSONAL_INFO, P.C_PERSONAL_INFO, 2.4, "personal_info"),
    "platform_move": (P.G_PLATFORM_MOVE, P.C_PLATFORM, 2.0, "platform_move"),
    "secrecy": (P.G_SECRECY, P.C_SECRECY, 3.0, "secrecy"),
    "flattery": (P.G_FLATTERY, P.C_FLATTERY, 1.2, "flattery_trust"),
    "isolation": (P.G_ISOLATION, P.C_ISOLATION, 3.0, "isolation"),
    "gifts": (P.G_GIFTS, P.C_GIFTS, 2.5, "gifts_money"),
    "image": (P.G_IMAGE_REQUEST, P.C_IMAGE, 4.0, "image_request"),
    "sexual": (P.G_SEXUAL_LEAFLET, P.C_SEXUAL, 4.2, "sexual_content"),
    "meeting": (P.G_MEETING, P.C_MEETING, 5.0, "meeting"),
    "coercion": (P.G_COERCION, P.C_COERCION, 5.5, "coercion"),
    "claim_age": (P.G_CLAIM_AGE, P.C_FRIENDSHIP, 0.9, "rapport"),
}


def grooming_plan(kind: str, rng: random.Random) -> list[str]:
    """Choose the tactic beats for one grooming conversation, in rough stage order."""
    beats: list[str] = []

    def maybe(name: str, p: float, lo: int = 1, hi: int = 1) -> None:
        if rng.random() < p:
            beats.extend([name] * rng.randint(lo, hi))

    if kind == "grooming_slow":
        maybe("friendship", 1.0, 2, 4)
        maybe("relationship", 1.0, 1, 3)
        maybe("ask_age", 0.9)
        maybe("claim_age", 0.4)
        maybe("ask_where", 0.6)
        maybe("ask_school", 0.4)
        maybe("ask_home", 0.8, 1, 2)
        maybe("personal_info", 0.4)
        maybe("flattery", 0.9, 1, 3)
        maybe("isolation", 0.6, 1, 2)
        maybe("secrecy", 0.9, 1, 2)
        maybe("platform_move", 0.85, 1, 2)
        maybe("gifts", 0.5)
        maybe("sexual", 0.6, 1, 2)
        maybe("image", 0.7, 1, 2)
        maybe("meeting", 0.6, 1, 2)
        maybe("coercion", 0.35)
    elif kind == "grooming_fast":
        maybe("ask_age", 0.8)
        maybe("ask_home", 0.5)
        maybe("flattery", 0.8)
        maybe("platform_move", 0.8)
        maybe("secrecy", 0.5)
        maybe("image", 0.7, 1, 2)
        maybe("sexual", 0.4)
        maybe("meeting", 0.35)
        maybe("gifts", 0.3)
        maybe("coercion", 0.3)
        maybe("personal_info", 0.25)
    else:  # grooming_subtle: friendship + secrecy + platform move + gifts, nothing overt
        maybe("friendship", 1.0, 2, 4)
        maybe("relationship", 0.8, 1, 2)
        maybe("ask_age", 0.4)
        maybe("ask_home", 0.35)
        maybe("flattery", 0.5)
        maybe("isolation", 0.3)
        maybe("secrecy", 0.85)
        maybe("platform_move", 0.85)
        maybe("gifts", 0.75, 1, 2)
    if len([b for b in beats if b not in ("friendship", "claim_age")]) < 2:
        beats.extend(rng.sample(["secrecy", "platform_move", "image", "flattery", "gifts"], 2))
    # Stages overlap and repeat: jitter the stage position before sorting.
    jitter = 1.2 if kind != "grooming_fast" else 2.0
    keyed = [(TACTICS[b][2] + rng.uniform(-jitter, jitter), i, b) for i, b in enumerate(beats)]
    keyed.sort()
    return [b for _, _, b in keyed]


def fill(template: str, ctx: dict[str, str]) -> str:
    """Fill ``{placeholders}`` from the conversation context."""
    return template.format_map(ctx)


def filler_for(person: Person, kind: str) -> list[str]:
    """Small-talk pool for a speaker (same pools for both labels)."""
    if person.age_band in ("child", "teen") or person.role in ("child", "peer_teen"):
        return P.FILLER_KID + P.FILLER_GENERIC + P.FILLER_GAME
    if kind in ("gaming", "grooming_fast", "grooming_slow", "grooming_subtle"):
        return P.FILLER_GENERIC + P.FILLER_GAME + P.FILLER_ADULT
    return P.FILLER_GENERIC + P.FILLER_ADULT


class Composer:
    """Builds one conversation's turn list with shared filler and noise."""

    def __init__(self, rng: random.Random, conv: Conversation, ctx: dict[str, str]) -> None:
        self.rng = rng
        self.conv = conv
        self.ctx = ctx
        self.used: set[str] = set()

    def pick(self, pool: Sequence[str]) -> str:
        """Pick an unused line from ``pool`` (falls back to reuse when exhausted)."""
        for _ in range(8):
            line = self.rng.choice(pool)
            if line not in self.used:
                break
        self.used.add(line)
        return fill(line, self.ctx)

    def say(self, who: int, pool: Sequence[str]) -> None:
        self.conv.turns.append((who, chatify(self.pick(pool), self.rng)))

    def small_talk(self, n_msgs: int, first: int | None = None) -> None:
        """Append ``n_msgs`` filler messages, alternating speakers (with some doubles)."""
        who = self.rng.randrange(2) if first is None else first
        kind = self.conv.kind
        for _ in range(n_msgs):
            self.say(who, filler_for(self.conv.people[who], kind))
            if self.rng.random() < 0.8:
                who = 1 - who


def _distribute(total: int, slots: int, rng: random.Random) -> list[int]:
    counts = [0] * slots
    for _ in range(max(0, total)):
        counts[rng.randrange(slots)] += 1
    return counts


def build_grooming(conv: Conversation, rng: random.Random, ctx: dict[str, str]) -> None:
    """Compose a grooming conversation: adult = people[0], child = people[1]."""
    lo, hi = {"grooming_fast": (8, 22), "grooming_slow": (30, 60), "grooming_subtle": (14, 40)}[
        conv.kind
    ]
    target = rng.randint(lo, hi)
    plan = grooming_plan(conv.kind, rng)
    uncomfortable = rng.random() < 0.12
    comp = Composer(rng, conv, ctx)
    beats: list[list[tuple[int, str]]] = []
    for name in plan:
        adult_pool, child_pool, _, _ = TACTICS[name]
        beat: list[tuple[int, str]] = [(0, chatify(comp.pick(adult_pool), rng))]
        if rng.random() < 0.2:  # adult double-texts, often flattery or the same tactic
            extra = rng.choice([adult_pool, P.G_FLATTERY, P.G_RELATIONSHIP])
            beat.append((0, chatify(comp.pick(extra), rng)))
        if rng.random() < 0.88:
            pool = child_pool
            if uncomfortable and name in ("image", "sexual", "coercion", "meeting", "ask_home"):
                pool = P.C_UNCOMFORTABLE
            beat.append((1, chatify(comp.pick(pool), rng)))
        beats.append(beat)
    signal_msgs = sum(len(b) for b in beats)
    target = max(target, min(60, signal_msgs + 3))
    # Trim beats for short conversations (keep order) if the plan overflows.
    while signal_msgs + 3 > 60 and len(beats) > 3:
        drop = rng.randrange(1, len(beats))
        signal_msgs -= len(beats.pop(drop))
    fillers = _distribute(target - signal_msgs - 2, len(beats) + 1, rng)
    conv.turns.append((0, chatify(comp.pick(P.GREETINGS), rng)))
    conv.turns.append((1, chatify(comp.pick(P.GREETING_REPLIES), rng)))
    for i, beat in enumerate(beats):
        comp.small_talk(fillers[i])
        conv.turns.extend(beat)
    comp.small_talk(fillers[-1])
    if rng.random() < 0.4 and len(conv.turns) < 60:
        comp.say(rng.randrange(2), P.SIGNOFFS)


NEG_POOLS: dict[str, tuple[list[str], list[str]]] = {
    "adult_flirt": (P.ADULT_FLIRT_A, P.ADULT_FLIRT_B),
    "teen_friends": (P.TEEN_A, P.TEEN_B),
    "parent_child": (P.PARENT_A, P.PARENT_B),
    "gaming": (P.GAMING_A, P.GAMING_B),
    "surprise": (P.SURPRISE_A, P.SURPRISE_B),
    "support": (P.SUPPORT_A, P.SUPPORT_B),
    "tutoring": (P.TUTOR_A, P.TUTOR_B),
    "coach_parent": (P.COACH_A, P.COACH_B),
}
NEG_LENGTH: dict[str, tuple[int, int]] = {
    "adult_flirt": (12, 60),
    "teen_friends": (10, 60),
    "parent_child": (8, 34),
    "gaming": (10, 60),
    "surprise": (8, 40),
    "support": (8, 22),
    "tutoring": (8, 26),
    "coach_parent": (8, 22),
}


def build_negative(conv: Conversation, rng: random.Random, ctx: dict[str, str]) -> None:
    """Compose a hard-negative conversation from the kind's pools plus shared filler."""
    lo, hi = NEG_LENGTH[conv.kind]
    target = rng.randint(lo, hi)
    a_pool, b_pool = NEG_POOLS[conv.kind]
    comp = Composer(rng, conv, ctx)
    n_beats = max(2, min(len(a_pool), round(target * rng.uniform(0.18, 0.35))))
    beats: list[list[tuple[int, str]]] = []
    for _ in range(n_beats):
        beat: list[tuple[int, str]] = []
        # Friendly rapport lines are benign in themselves; peers use them too.
        if conv.kind in ("gaming", "teen_friends") and rng.random() < 0.15:
            beat.append((0, chatify(comp.pick(P.G_FRIENDSHIP), rng)))
        else:
            beat.append((0, chatify(comp.pick(a_pool), rng)))
        if rng.random() < 0.15:
            beat.append((0, chatify(comp.pick(a_pool), rng)))
        if rng.random() < 0.85:
            beat.append((1, chatify(comp.pick(b_pool), rng)))
        if rng.random() < 0.3 and conv.kind in (
            "teen_friends",
            "gaming",
            "adult_flirt",
            "surprise",
        ):
            # symmetric chats: the other side raises a topic too
            beat.append((1, chatify(comp.pick(a_pool), rng)))
            beat.append((0, chatify(comp.pick(b_pool), rng)))
        beats.append(beat)
    signal_msgs = sum(len(b) for b in beats)
    target = max(target, min(60, signal_msgs + 2))
    fillers = _distribute(target - signal_msgs - 2, len(beats) + 1, rng)
    greet_first = rng.randrange(2)
    conv.turns.append((greet_first, chatify(comp.pick(P.GREETINGS), rng)))
    conv.turns.append((1 - greet_first, chatify(comp.pick(P.GREETING_REPLIES), rng)))
    for i, beat in enumerate(beats):
        comp.small_talk(fillers[i])
        conv.turns.extend(beat)
    comp.small_talk(fillers[-1])
    if rng.random() < 0.4 and len(conv.turns) < 60:
        comp.say(rng.randrange(2), P.SIGNOFFS)


def child_band(age: int) -> str:
    """Age band for a minor of ``age``."""
    return "child" if age <= 12 else "teen"


def make_people(kind: str, rng: random.Random) -> tuple[tuple[Person, Person], int, int]:
    """Participants plus (child_age, my_age) for placeholders."""
    a_id, b_id = make_handle(rng), make_handle(rng)
    while b_id == a_id:
        b_id = make_handle(rng)
    if kind.startswith("grooming"):
        child_age = rng.randint(10, 15)
        my_age = rng.choice([rng.randint(15, 17), rng.randint(18, 35)])
        band = "adult" if rng.random() < 0.6 else "unknown"
        return (
            (
                Person(a_id, band, "groomer"),
                Person(b_id, child_band(child_age), "child", child_age),
            ),
            child_age,
            my_age,
        )
    if kind == "adult_flirt":
        age_a, age_b = rng.randint(22, 48), rng.randint(22, 48)
        return (
            (Person(a_id, "adult", "adult", age_a), Person(b_id, "adult", "adult", age_b)),
            age_b,
            age_a,
        )
    if kind == "teen_friends":
        age = rng.randint(12, 16)
        other = max(12, min(16, age + rng.choice([-1, 0, 0, 1])))
        return (
            (
                Person(a_id, child_band(age), "peer_teen", age),
                Person(b_id, child_band(other), "peer_teen", other),
            ),
            other,
            age,
        )
    if kind in ("parent_child",):
        age = rng.randint(9, 16)
        return (
            (Person(a_id, "adult", "parent"), Person(b_id, child_band(age), "child", age)),
            age,
            40,
        )
    if kind == "gaming":
        pair = rng.choice(
            [
                ("teen", "teen"),
                ("unknown", "unknown"),
                ("adult", "adult"),
                ("teen", "unknown"),
                ("unknown", "teen"),
                ("adult", "unknown"),
            ]
        )
        age = rng.randint(13, 16)
        return (
            (Person(a_id, pair[0], "gamer"), Person(b_id, pair[1], "gamer")),
            age,
            rng.randint(13, 30),
        )
    if kind == "surprise":
        pair = rng.choice(
            [("adult", "adult"), ("adult", "teen"), ("teen", "adult"), ("adult", "adult")]
        )
        return (
            (Person(a_id, pair[0], "family"), Person(b_id, pair[1], "family")),
            rng.randint(13, 17),
            40,
        )
    if kind == "tutoring":
        age = rng.randint(10, 16)
        return (
            (Person(a_id, "adult", "tutor"), Person(b_id, child_band(age), "child", age)),
            age,
            30,
        )
    # support, coach_parent
    return (
        (
            Person(a_id, "adult", "staff"),
            Person(b_id, rng.choice(["adult", "adult", "unknown"]), "customer"),
        ),
        rng.randint(9, 15),
        35,
    )


def timestamps(n: int, kind: str, rng: random.Random) -> list[str]:
    """ISO 8601 UTC timestamps with chat-like gaps (occasional hours/days)."""
    start = BASE_TIME + timedelta(
        days=rng.randint(0, 300),
        hours=rng.randint(7, 22),
        minutes=rng.randint(0, 59),
        seconds=rng.randint(0, 59),
    )
    long_gap_p = 0.1 if kind == "grooming_slow" else 0.05
    out = []
    t = start
    for _ in range(n):
        out.append(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
        r = rng.random()
        if r < long_gap_p:
            gap = rng.randint(3600, 3 * 86400)
        elif r < 0.3:
            gap = rng.randint(60, 900)
        else:
            gap = rng.randint(4, 90)
        t += timedelta(seconds=gap)
    return out


def make_conversation(idx: int, kind: str, label: int) -> Conversation:
    """Build conversation number ``idx`` of ``kind`` (deterministic per index)."""
    attempt = 0
    while True:
        rng = random.Random(f"{SEED}:{kind}:{idx}:{attempt}")
        people, child_age, my_age = make_people(kind, rng)
        ctx = make_ctx(rng, child_age, my_age)
        cid = f"ev-{idx:04d}"
        conv = Conversation(cid, kind, label, people)
        if label:
            conv.groomer_id = people[0].user_id
            build_grooming(conv, rng, ctx)
        else:
            build_negative(conv, rng, ctx)
        if 8 <= len(conv.turns) <= 60:
            return conv
        attempt += 1


def to_messages(
    conv: Conversation, rng: random.Random, texts: list[str] | None = None
) -> list[dict]:
    """Serialise a conversation to message dicts (optionally with replaced texts)."""
    stamps = timestamps(len(conv.turns), conv.kind, rng)
    rows = []
    for i, ((who, text), ts) in enumerate(zip(conv.turns, stamps, strict=True)):
        person = conv.people[who]
        rows.append(
            {
                "conversation_id": conv.conversation_id,
                "message_id": f"{conv.conversation_id}-m{i + 1:02d}",
                "sender_id": person.user_id,
                "sent_at": ts,
                "text": texts[i] if texts is not None else text,
                "sender_age_band": person.age_band,
            }
        )
    return rows


# ---------------------------------------------------------------------------
# Separability check.
# ---------------------------------------------------------------------------

TOKEN_RE = re.compile(r"[a-z0-9']+")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens."""
    return TOKEN_RE.findall(text.lower())


def separability(convs: list[Conversation], min_count: int = 10, top: int = 20) -> dict:
    """Log-odds of unigrams by class plus shared-line / single-word-rule statistics."""
    counts = {0: Counter(), 1: Counter()}
    doc_freq = {0: Counter(), 1: Counter()}
    lines = {0: Counter(), 1: Counter()}
    n_docs = Counter(c.label for c in convs)
    for c in convs:
        seen: dict[str, None] = {}
        for _, text in c.turns:
            toks = tokens(text)
            counts[c.label].update(toks)
            seen.update(dict.fromkeys(toks))
            lines[c.label][text] += 1
        doc_freq[c.label].update(list(seen))
    vocab = sorted(set(counts[0]) | set(counts[1]))
    n1, n0 = sum(counts[1].values()), sum(counts[0].values())
    alpha, v = 0.5, len(vocab)
    scored = []
    for w in vocab:
        if counts[0][w] + counts[1][w] < min_count:
            continue
        lo = math.log((counts[1][w] + alpha) / (n1 + alpha * v)) - math.log(
            (counts[0][w] + alpha) / (n0 + alpha * v)
        )
        scored.append((lo, w))
    scored.sort(key=lambda x: (-abs(x[0]), x[1]))
    top_words = [
        {
            "word": w,
            "log_odds": round(lo, 2),
            "grooming_count": counts[1][w],
            "negative_count": counts[0][w],
            "grooming_docs_pct": round(100 * doc_freq[1][w] / n_docs[1], 1),
            "negative_docs_pct": round(100 * doc_freq[0][w] / n_docs[0], 1),
        }
        for lo, w in scored[:top]
    ]
    # Best single-word rule: "contains w => grooming" (or its negation).
    total = n_docs[0] + n_docs[1]
    best_acc, best_word = 0.0, ""
    for w in vocab:
        tp, fp = doc_freq[1][w], doc_freq[0][w]
        acc = (tp + (n_docs[0] - fp)) / total
        acc = max(acc, 1 - acc)
        if acc > best_acc:
            best_acc, best_word = acc, w
    shared_vocab = sum(1 for w in vocab if counts[0][w] and counts[1][w])
    shared_tokens_1 = sum(c for w, c in counts[1].items() if counts[0][w])
    shared_lines = [t for t in lines[1] if t in lines[0]]
    shared_line_msgs_1 = sum(lines[1][t] for t in shared_lines)
    return {
        "top_words": top_words,
        "best_single_word": best_word,
        "best_single_word_accuracy": round(best_acc, 3),
        "vocab_size": v,
        "shared_vocab": shared_vocab,
        "grooming_tokens_in_negative_vocab_pct": round(100 * shared_tokens_1 / n1, 1),
        "distinct_lines_in_both_classes": len(shared_lines),
        "grooming_messages_with_line_seen_in_negatives_pct": round(
            100 * shared_line_msgs_1 / sum(lines[1].values()), 1
        ),
    }


# ---------------------------------------------------------------------------
# Output.
# ---------------------------------------------------------------------------


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _csv(header: list[str], rows: list[list[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def build_all() -> tuple[list[Conversation], list[dict], list[dict]]:
    """Compose all conversations, their clean messages and evasion copies."""
    plan: list[tuple[str, int]] = []
    for kind, n in N_GROOMING.items():
        plan += [(kind, 1)] * n
    for kind, n in N_NEGATIVE.items():
        plan += [(kind, 0)] * n
    random.Random(SEED).shuffle(plan)  # ids carry no label information
    convs: list[Conversation] = []
    seen: set[tuple[str, ...]] = set()
    for idx, (kind, label) in enumerate(plan, start=1):
        conv = make_conversation(idx, kind, label)
        key = tuple(t for _, t in conv.turns)
        assert key not in seen, f"duplicate conversation {conv.conversation_id}"
        seen.add(key)
        convs.append(conv)
    clean: list[dict] = []
    evasion: list[dict] = []
    for conv in convs:
        ts_rng = random.Random(f"{SEED}:ts:{conv.conversation_id}")
        clean += to_messages(conv, ts_rng)
        ev_rng = random.Random(f"{SEED}:evade:{conv.conversation_id}")
        texts = [
            evade(t, ev_rng) if ev_rng.random() < EVASION_MESSAGE_P else t for _, t in conv.turns
        ]
        ev_conv = Conversation(
            f"{conv.conversation_id}-evasion", conv.kind, conv.label, conv.people, conv.turns
        )
        evasion += to_messages(ev_conv, random.Random(f"{SEED}:ts:{conv.conversation_id}"), texts)
    return convs, clean, evasion


def render_readme(
    convs: list[Conversation], stats: dict, n_clean_msgs: int, n_ev_msgs: int, changed_pct: float
) -> str:
    """README text with the computed counts and separability statistics."""
    kinds = Counter(c.kind for c in convs)
    lengths: dict[str, list[int]] = {}
    for c in convs:
        lengths.setdefault(c.kind, []).append(len(c.turns))
    kind_rows = "\n".join(
        f"| {k} | {1 if k.startswith('grooming') else 0} | {kinds[k]} | "
        f"{min(lengths[k])}-{max(lengths[k])} (mean {sum(lengths[k]) / len(lengths[k]):.1f}) |"
        for k in list(N_GROOMING) + list(N_NEGATIVE)
    )
    word_rows = "\n".join(
        f"| {i} | `{w['word']}` | {w['log_odds']:+.2f} | {w['grooming_count']} "
        f"| {w['negative_count']} | {w['grooming_docs_pct']}% | {w['negative_docs_pct']}% |"
        for i, w in enumerate(stats["top_words"], start=1)
    )
    n_pos = sum(1 for c in convs if c.label)
    pools = {k: v for k, v in vars(P).items() if k.isupper() and isinstance(v, list)}
    pool_rows = "   | pool | lines |\n   | --- | --- |\n" + "\n".join(
        f"   | `{k}` | {len(v)} |" for k, v in pools.items()
    )
    n_lines = len({line for v in pools.values() for line in v})
    max_docs_pct = max(
        max(w["grooming_docs_pct"], w["negative_docs_pct"]) for w in stats["top_words"]
    )
    return README_TEMPLATE.format(
        pool_rows=pool_rows,
        n_lines=n_lines,
        max_docs_pct=max_docs_pct,
        n_total=len(convs),
        n_pos=n_pos,
        n_neg=len(convs) - n_pos,
        n_clean_msgs=n_clean_msgs,
        n_ev_msgs=n_ev_msgs,
        kind_rows=kind_rows,
        word_rows=word_rows,
        seed=SEED,
        evasion_p=EVASION_MESSAGE_P,
        changed_pct=changed_pct,
        **{k: v for k, v in stats.items() if k != "top_words"},
    )


README_TEMPLATE = """# Synthetic grooming evaluation set

**This is synthetic data.** Every conversation was composed by
`generate.py` from phrase pools written by hand for this benchmark
(`phrases.py`). It is an *independent* check of the grooming detector: it was
written without looking at the detector's code, word lists or training data,
so that scores on it measure generalisation rather than memorisation. It is
not a substitute for real data: it tells you whether the detector picks up the
tactics safeguarding guidance describes, in chat-like text, against hard
negatives that share the same words. Any real-world precision/recall claim
must come from real labelled sets (e.g. PAN 2012, a platform's own reviewed
cases), never from this file.

Regenerate (deterministic, byte-identical output; seed `{seed}`):

```
.venv/bin/python benchmarks/evalset/generate.py
```

## Files

| file | content |
| --- | --- |
| `conversations.jsonl` | clean set, one message a line: `conversation_id, message_id, sender_id, sent_at (ISO 8601 UTC), text, sender_age_band` ({n_clean_msgs} messages) |
| `conversations_evasion.jsonl` | an evasion-rewritten copy of **every** conversation, id suffixed `-evasion`, same label ({n_ev_msgs} messages) |
| `labels.csv` | `conversation_id,label,kind,groomer_id` for clean and evasion ids; `groomer_id` is the adult's `sender_id` for grooming rows, empty otherwise |
| `segments.csv` | `id,segment,label`: each conversation flattened to one run of text, messages joined by single spaces, **no speaker markers** (like a scraped transcript); clean and evasion rows, shuffled |
| `generate.py`, `phrases.py`, `evade.py` | generator, hand-written phrase pools, evasion transforms |

`sender_age_band` is one of `child`, `teen`, `adult`, `unknown`. In grooming
conversations the groomer is `adult` or `unknown` (about 40% `unknown`, and
some claim to be a teenager); the other participant is `child` (10-12) or
`teen` (13-15). Negatives include adult/adult, teen/teen, adult/child,
unknown/unknown pairs, so the age band alone does not give the label away
(parents, tutors and coaches also talk to children).

## Size and kinds

{n_total} conversations: {n_pos} grooming (label 1), {n_neg} hard negatives
(label 0), each with an evasion copy ({n_total} more rows in `labels.csv`).
8 to 60 messages each.

| kind | label | conversations | messages (min-max, mean) |
| --- | --- | --- | --- |
{kind_rows}

Grooming kinds:

- `grooming_slow`: all stages overlapping and repeating (friendship forming,
  relationship forming, risk assessment, exclusivity, leaflet-level sexual
  stage, meeting/compliance), with lots of small talk between the signals.
- `grooming_fast`: few pleasantries; age probe, flattery, platform move and
  image request within a few lines, sometimes meeting or pressure.
- `grooming_subtle`: only friendship and relationship forming, secrecy, a
  platform move and gifts/money; no image request, no sexual-stage line, no
  meeting. These are the hardest positives.

Signal categories used by the grooming pools (names as in the product brief):
`age_location_probe` (age, school, area, who is home, which room, do parents
check the phone), `personal_info`, `platform_move`, `secrecy`,
`flattery_trust`, `isolation`, `gifts_money`, `image_request`,
`sexual_content` (leaflet level only: "have u ever had a bf", "do u ever think
about kissing someone"), `meeting`, `coercion`. Not every conversation shows
every tactic. In some grooming conversations (up to about 12%) the child
pushes back and says it is uncomfortable ("i dont like this", "i'm going to
tell my mum").

Hard negatives, in roughly equal shares: consenting adults flirting and dating
(`adult_flirt`: "send me a pic", "add me on insta", "dont tell anyone at work",
"i could pick u up after my shift", jobs, uni, wine, mortgages, their own kids);
`teen_friends` (school, crushes, gossip, "add me on snap", "dont tell anyone i
like him"); `parent_child` ("where r u", "ill pick u up at 6", "dont tell ur
sister about the present", "send me a pic of the receipt", "who else is
there"); `gaming` (trash talk, "add me on discord", skins and gift codes
between friends, "ur like 12 lol"); `surprise` (party and present planning,
"keep it secret from mum", "delete this chat so she doesnt see"); and the
`support` / `tutoring` / `coach_parent` share (order numbers and addresses,
"what year r u in", "send me a pic of ur working", "whats ur number for the
rota").

## How it was built

1. **Phrase pools** (`phrases.py`), all hand-written: per grooming tactic
   many paraphrases on the adult side and matching child replies (compliant,
   hesitant, deflecting, uncomfortable); per negative kind two pools; and
   shared small talk (greetings, generic, school/home, adult work life,
   gaming, sign-offs) used by **both** labels. {n_lines} distinct lines in all.
   Pool sizes:

{pool_rows}
2. **Composition** (`generate.py`): each grooming conversation draws a plan of
   tactic beats for its kind, orders them by stage with random jitter (stages
   overlap and repeat), pairs each adult line with a child reply, and spreads
   small talk between the beats to a random target length. Negatives draw
   beats from their kind's pools, with the same small talk. Placeholders
   (names, games, towns, days, ages, money, handles) are filled per
   conversation; lines are not reused within a conversation while unused ones
   remain.
3. **Chat noise**, identical for both labels: abbreviation swaps
   (you/u, your/ur, are/r, what/wat, please/pls, tomorrow/tmrw), occasional
   expansions back, typos (swapped, dropped or doubled letters), emojis and
   "lol" tags, occasional capitals or "!!".
4. **Determinism**: one `random.Random` per conversation seeded from
   `(seed, kind, index)`; conversation ids are shuffled so they carry no label
   information; the script asserts that no two conversations are identical.

## Evasion copies

`evade.py` exposes `evade(text: str, rng: random.Random) -> str`. Each message
of each conversation is rewritten with probability {evasion_p} ({changed_pct}% of
messages actually changed); a rewrite applies one to three word-level transforms,
preferring the words a filter would look for (platform names, "secret", "pic",
"gift", "money", "mum", "delete", "meet"...):

| transform | example |
| --- | --- |
| `platform` (names written around filters) | snap → `sn@p`, `s c`, `snp`, `👻`; snapchat → `snpchat`; discord → `d!sc0rd`; whatsapp → `wh@ts@pp`; insta → `1nsta`; telegram → `tele gram` |
| `emoji` substitutions | 👻 snapchat, 📷/📸 pic/photo, 🤫 secret, 🎁 gift/present, 💰/💵 money/cash |
| `leet` | a→4/@, e→3, i→1/!, o→0, s→5/$ |
| `spaced` letters | `s n a p` |
| `dotted` (punctuation inserted) | `s.n.a.p`, `s-e-c-r-e-t` |
| `zero_width` characters inside words | U+200B, U+200C, U+200D, U+2060, U+FEFF |
| `homoglyph` | Cyrillic/Greek а, е, о, р, с, у, х, і, ο, ν |
| `repeat` letters | `pleeease`, `sooo` |

Negatives are rewritten the same way, so the evasion set also measures whether
de-obfuscation creates false positives.

## Is it trivially separable? (computed by `generate.py` on the clean set)

- Vocabulary: {vocab_size} distinct tokens, {shared_vocab} of them used in both classes;
  {grooming_tokens_in_negative_vocab_pct}% of grooming-message tokens are words that also
  occur in negatives.
- {distinct_lines_in_both_classes} distinct message texts occur in both classes;
  {grooming_messages_with_line_seen_in_negatives_pct}% of grooming messages are word-for-word
  lines that also occur in some negative (small talk, greetings, replies).
- Best single-word rule ("contains *w*" ⇒ grooming, or its negation): word
  `{best_single_word}`, accuracy {best_single_word_accuracy} (chance is 0.5).

Top 20 class-discriminative unigrams by smoothed log-odds ratio (grooming vs
negative; add-0.5 smoothing, words with at least 10 occurrences; positive =
more typical of grooming). `docs %` = share of conversations of that class
containing the word.

| # | word | log-odds | grooming count | negative count | grooming docs % | negative docs % |
| --- | --- | --- | --- | --- | --- | --- |
{word_rows}

The most discriminative word occurs in at most {max_docs_pct}% of the
conversations of its class: no single word separates the classes, and the
words that lean one way are topic words of a few kinds (adult life, gaming,
the child's replies) rather than a label giveaway.

## Limitations (read before quoting a number)

- Finite pools: a bag-of-words model *trained on this set* separates it almost
  perfectly (a TF-IDF word 1-2-gram logistic regression reached about 0.997
  accuracy in 5-fold cross-validation on the clean segments when this was
  written), because train and test folds share the same hand-written lines. Use
  the set only as held-out evaluation; never train or tune on it, or its
  scores mean nothing.
- Message length alone is weakly informative (a length-only classifier was
  about 0.58 in the same check): `grooming_slow` conversations are long, as
  are some adult and teen negatives.
- Negative replies are drawn from the kind's reply pool without being matched
  to the preceding line, so negatives read a little less coherently than the
  grooming conversations, whose child replies are matched to the tactic.
- It is English, UK-flavoured chat; it says nothing about other languages,
  voice, images or real offenders' adaptation to a specific filter.

## Data rules followed

- No sexual content involving children anywhere. Grooming tactics are written
  at the level of a safeguarding leaflet ("add me on snap", "don't tell your
  mum", "send me a pic of you", "you're so mature for your age", "I could pick
  you up", "have u ever had a bf"); no explicit line, no sexual act described,
  no body descriptions.
- Adult negatives are mild, non-explicit flirting between clearly adult people
  (jobs, uni, wine, mortgages, their own kids).
- All names, handles, towns and ids are invented or generic; no real user data.
"""  # noqa: E501


def main() -> None:
    """Generate all files and print the summary."""
    convs, clean, evasion = build_all()
    labels = [[c.conversation_id, c.label, c.kind, c.groomer_id] for c in convs]
    labels += [[f"{c.conversation_id}-evasion", c.label, c.kind, c.groomer_id] for c in convs]
    by_conv: dict[str, list[str]] = {}
    for row in clean + evasion:
        by_conv.setdefault(row["conversation_id"], []).append(row["text"])
    label_of = {str(r[0]): r[1] for r in labels}
    segments = [[cid, " ".join(texts), label_of[cid]] for cid, texts in by_conv.items()]
    random.Random(f"{SEED}:segments").shuffle(segments)
    changed = sum(1 for a, b in zip(clean, evasion, strict=True) if a["text"] != b["text"])
    changed_pct = round(100 * changed / len(clean), 1)
    stats = separability(convs)

    (HERE / "conversations.jsonl").write_text(_jsonl(clean), encoding="utf-8")
    (HERE / "conversations_evasion.jsonl").write_text(_jsonl(evasion), encoding="utf-8")
    (HERE / "labels.csv").write_text(
        _csv(["conversation_id", "label", "kind", "groomer_id"], labels), encoding="utf-8"
    )
    (HERE / "segments.csv").write_text(_csv(["id", "segment", "label"], segments), encoding="utf-8")
    (HERE / "README.md").write_text(
        render_readme(convs, stats, len(clean), len(evasion), changed_pct), encoding="utf-8"
    )

    kinds = Counter(c.kind for c in convs)
    print(
        f"{len(convs)} conversations ({sum(c.label for c in convs)} grooming), "
        f"{len(clean)} clean messages, {len(evasion)} evasion messages ({changed_pct}% changed)"
    )
    for kind, n in sorted(kinds.items()):
        print(f"  {kind:16s} {n}")
    print("top class-discriminative unigrams (log-odds, + = grooming):")
    for w in stats["top_words"]:
        print(
            f"  {w['word']:14s} {w['log_odds']:+.2f}  grooming {w['grooming_count']:4d} "
            f"({w['grooming_docs_pct']:5.1f}% docs)  negative {w['negative_count']:4d} "
            f"({w['negative_docs_pct']:5.1f}% docs)"
        )
    print(
        f"best single-word rule: {stats['best_single_word']!r} "
        f"accuracy {stats['best_single_word_accuracy']}"
    )
    print(
        f"shared vocab {stats['shared_vocab']}/{stats['vocab_size']}, "
        f"distinct lines in both classes {stats['distinct_lines_in_both_classes']}, "
        f"grooming msgs with a line seen in negatives "
        f"{stats['grooming_messages_with_line_seen_in_negatives_pct']}%"
    )


if __name__ == "__main__":
    main()
