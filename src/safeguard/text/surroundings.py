"""Who is on the other side of each author, summarised once for the whole conversation.

An author's :class:`~safeguard.text.scoring.Context` reads everyone else in the
conversation (their bands, what their own words say about being children, their
stated ages). Reading everyone for every author costs participants squared per
rescore, and a group chat with hundreds of members is a hostile shape. The
summary here is built once (linear in participants) each time bands, ages or a
child's words change, and gives any author's context in constant time by taking
the author's own share back out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from safeguard.text.images import YOUNG_BANDS
from safeguard.text.participants import TEXT_ONLY, Participant
from safeguard.text.scoring import CHILD_AGE, Context, age_gap

_SOLID = 1e-12  # below this, a remaining product cannot be divided back out


@dataclass(slots=True)
class Surroundings:
    """Counts and products over everyone, from which one author's share is removed."""

    participants: dict[str, Participant]
    bands: dict[str, str | None]
    wrote_to_young: set[str]
    young: int = 0  # everyone with a child or teen band
    not_adult: int = 0  # everyone without an adult band
    child_remaining: float = 1.0  # prod(1 - self_child) over participants without an adult band
    youngest: list[tuple[int, str]] = field(default_factory=list)  # two youngest child ages, by writer

    @classmethod
    def of(
        cls,
        participants: dict[str, Participant],
        everyone: Iterable[str],
        band_of: Callable[[str], str | None],
        wrote_to_young: set[str],
    ) -> Surroundings:
        summary = cls(participants, {p: band_of(p) for p in everyone}, wrote_to_young)
        youngest: list[tuple[int, str]] = []
        for person, band in summary.bands.items():
            summary.young += band in YOUNG_BANDS
            summary.not_adult += band != "adult"
            entry = participants.get(person)
            if entry is None:
                continue
            if band != "adult":
                summary.child_remaining *= entry.child_remaining
            child_ages = [a for a in entry.ages if a <= CHILD_AGE]
            if child_ages:
                youngest.append((min(child_ages), person))
        summary.youngest = sorted(youngest)[:2]
        return summary

    def signature(self, recipient_bands: set[str]) -> list[Any]:
        """What every author's context depends on besides their own entry and band.

        Equal signatures before and after a message mean no other author's context
        moved (a newcomer who is not young, says nothing of being a child and states
        no age leaves everyone else as they were). A plain list: it survives JSON.
        """
        return [
            self.young > 0,
            min(self.not_adult, 2),
            self.child_remaining,
            [[age, person] for age, person in self.youngest],
            min(len(self.bands), 2),
            bool(YOUNG_BANDS & recipient_bands),
        ]

    def context_of(self, author: str, recipient_bands: set[str]) -> Context:
        """``author``'s context: what is known about everyone but them."""
        me = self.participants.get(author) or Participant()
        if author == TEXT_ONLY:
            known = 1.0 if YOUNG_BANDS & recipient_bands else 0.0
            return Context(child=me.self_child, age_gap=age_gap(me.ages, me.ages), known_child=known)
        band = self.bands.get(author)
        if band in YOUNG_BANDS:
            return Context(self_child=1.0)
        present = author in self.bands
        others = len(self.bands) - present
        young_other = self.young > 0 or author in self.wrote_to_young
        known = (1.0 if band == "adult" else 0.8) if young_other else 0.0
        not_adult_others = self.not_adult - (present and band != "adult")
        return Context(
            child=self._others_child(author, band),
            age_gap=age_gap(me.ages, [age for age, person in self.youngest if person != author][:1]),
            known_child=known,
            self_child=me.self_child if band != "adult" else 0.0,
            adults_only=others > 0 and not young_other and not_adult_others == 0,
        )

    def child_presence(self, context_of: Callable[[str], Context], recipient_bands: set[str]) -> float:
        """Evidence in [0, 1] that a child takes part: an account's band, a child's own
        words (not an adult account's), an adult's age beside a child's."""
        if YOUNG_BANDS & recipient_bands or any(self.bands.get(p) in YOUNG_BANDS for p in self.participants):
            return 1.0
        evidence = max((context_of(a).presence for a in list(self.participants) or [TEXT_ONLY]), default=0.0)
        for participant, entry in self.participants.items():
            if self.bands.get(participant) != "adult":
                evidence = max(evidence, entry.self_child)
        return evidence

    def _others_child(self, author: str, band: str | None) -> float:
        """Noisy-OR of the other participants' own words that they are children."""
        me = self.participants.get(author)
        if me is None or band == "adult" or author not in self.bands:
            return 1.0 - self.child_remaining
        if me.child_remaining > _SOLID:
            return 1.0 - self.child_remaining / me.child_remaining
        remaining = 1.0
        for person, entry in self.participants.items():
            if person != author and self.bands.get(person) != "adult":
                remaining *= entry.child_remaining
        return 1.0 - remaining
