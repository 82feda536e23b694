"""Script linking (issue 19): pairwise precision/recall of "linked" and fingerprint cost.

About 200 synthetic threat messages from 20 rings (each ring one leaflet-level script,
varied by names, amounts, typos and emoji) plus about 400 unrelated ordinary messages and
look-alikes (messages about photos, gift cards or followers with no threat). Two messages
are "linked" when they share an LSH band and their estimated Jaccard is >= 0.6, as in
``safeguard.linking.service``. A pair is a true link when both come from the same ring.

Writes ``benchmarks/results/linking.md``. Every figure is synthetic.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import common  # noqa: E402

RESULTS = HERE / "results" / "linking.md"

OPENERS = ["i have your pics", "i saved your photos", "i got all your pictures", "your pics are on my phone"]
DEMANDS = [
    "pay {amount} in gift cards",
    "send {amount} on cash app",
    "send me {amount} dollars in steam cards",
    "transfer {amount} to my paypal",
    "buy me {amount} of itunes cards",
]
THREATS = [
    "or i send them to all your followers",
    "or everyone at your school sees them",
    "or i post them on your page tonight",
    "or your parents get them first",
    "or i share them in every group chat you are in",
]
CLOCKS = ["you have 1 hour", "you got 30 minutes", "clock is ticking", "dont make me wait", "today or never"]
EXTRAS = ["dont tell anyone", "i am not joking", "last warning", "reply now", "i know where you live"]
NAMES = ["emma", "liam", "noah", "ava", "mia", "leo", "zoe", "max", "ella", "sam", "jay", "lily"]
EMOJI = ["", " 😈", " ⏰", " 💀", " !!", " 👀"]
ORDINARY = [
    "are you coming to practice on {day} after school",
    "did you finish the {subject} homework yet, i am stuck on question {n}",
    "my mom says we can go to the {place} on {day} if it does not rain",
    "lol that video was so funny, send me the link again",
    "i got a {amount} gift card for my birthday, what should i buy",
    "can you send me the pics from the trip to the {place}",
    "i just hit {n} followers on my page, so happy",
    "the new game is out on {day}, are you getting it",
    "do you want to study for the {subject} test at the library",
    "i lost my phone charger again, can i borrow yours on {day}",
    "pay me back the {amount} dollars when you can, no rush",
    "my sister posted the photos from the party on her page",
]
DAYS = ["monday", "tuesday", "friday", "saturday", "sunday"]
SUBJECTS = ["maths", "science", "history", "french", "art"]
PLACES = ["zoo", "beach", "mall", "park", "museum", "cinema"]


def ring_script(rng: random.Random) -> str:
    """One ring's template: a fixed choice of opener, demand, threat, clock and extra."""
    parts = [rng.choice(OPENERS), rng.choice(DEMANDS), rng.choice(THREATS), rng.choice(CLOCKS)]
    parts.append(rng.choice(EXTRAS))
    rng.shuffle(parts[3:])
    return " ".join(parts[:3]) + ". " + ", ".join(parts[3:]) + " {name}"


def typo(rng: random.Random, text: str) -> str:
    """Drop or double one letter of one word."""
    words = text.split()
    i = rng.randrange(len(words))
    w = words[i]
    if len(w) > 3:
        j = rng.randrange(1, len(w) - 1)
        words[i] = w[:j] + w[j + 1 :] if rng.random() < 0.5 else w[:j] + w[j] + w[j:]
    return " ".join(words)


def variant(rng: random.Random, template: str) -> str:
    """The template with a name, an amount, maybe a typo and an emoji."""
    text = template.format(name=rng.choice(NAMES), amount=f"${rng.choice([100, 150, 200, 250, 300, 500])}")
    if rng.random() < 0.4:
        text = typo(rng, text)
    return text + rng.choice(EMOJI)


def ordinary(rng: random.Random) -> str:
    """An unrelated ordinary message or look-alike."""
    return rng.choice(ORDINARY).format(
        day=rng.choice(DAYS),
        subject=rng.choice(SUBJECTS),
        place=rng.choice(PLACES),
        n=rng.randint(1, 900),
        amount=rng.choice([10, 20, 25, 50, 100]),
    )


def build(rng: random.Random, rings: int, per_ring: int, unrelated: int) -> list[tuple[int, str]]:
    """(ring or -1, text) messages."""
    templates: set[str] = set()
    while len(templates) < rings:
        templates.add(ring_script(rng))
    messages = [(r, variant(rng, t)) for r, t in enumerate(sorted(templates)) for _ in range(per_ring)]
    messages += [(-1, ordinary(rng)) for _ in range(unrelated)]
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted for run_all; the set is small")
    parser.parse_args(argv)
    from safeguard.linking.fingerprint import fingerprint, similarity
    from safeguard.linking.service import MATCH_JACCARD

    rng = random.Random(19)
    messages = build(rng, rings=20, per_ring=10, unrelated=400)
    costs, prints = [], []
    for _, text in messages:
        start = time.perf_counter()
        fp = fingerprint(text + " ")  # bypass the normaliser cache for a fair cost
        costs.append((time.perf_counter() - start) * 1e6)
        prints.append(fp)
    buckets: dict[int, list[int]] = defaultdict(list)
    for i, fp in enumerate(prints):
        for key in fp.band_keys if fp else ():
            buckets[key].append(i)
    candidates = {pair for ids in buckets.values() for pair in combinations(sorted(set(ids)), 2)}
    linked = {
        (a, b) for a, b in candidates if similarity(prints[a].signature, prints[b].signature) >= MATCH_JACCARD
    }
    linked = {(a, b) for a, b in linked if messages[a][0] >= 0 or messages[b][0] >= 0}
    truth = {
        (a, b)
        for a, b in combinations(range(len(messages)), 2)
        if messages[a][0] >= 0 and messages[a][0] == messages[b][0]
    }
    tp = len(linked & truth)
    precision = tp / len(linked) if linked else float("nan")
    recall = tp / len(truth) if truth else float("nan")
    table = common.md_table(
        ["messages", "rings", "true pairs", "linked pairs", "precision", "recall", "median µs / message"],
        [
            [
                len(messages),
                20,
                len(truth),
                len(linked),
                common.fmt(precision),
                common.fmt(recall),
                common.fmt(common.median(costs), 1),
            ]
        ],
    )
    text = (
        "# Script linking (synthetic)\n\n"
        f"{common.machine_line()}\n\nMinHash 128 permutations, 16 bands x 8 rows over character "
        "5-grams of the normalised text (words with digits left out); linked = shared band and "
        f"estimated Jaccard >= {MATCH_JACCARD}. A true pair is two messages of one ring; linked "
        "pairs of two ordinary messages are left out (the service fingerprints only messages with "
        "a sextortion/coercion/grooming signal). Cost is normalise + fingerprint per message. "
        "Targets: precision and recall >= 0.95.\n\n"
        f"{table}\n"
    )
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
