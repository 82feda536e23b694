"""Which console decisions need a confirmation step and a note.

A ban, a suspension or a report to the authorities is only recorded once the
reviewer has confirmed it on a second page and written why (the console runs
no JavaScript, so the check is on the server: :func:`needs_confirmation`).
"""

from __future__ import annotations

from collections.abc import Mapping

CONFIRMED_DECISIONS = frozenset({"suspend", "ban", "report_ncmec", "report_nca"})


def needs_confirmation(form: Mapping[str, str]) -> bool:
    """True when the form's decision needs the confirm page: not confirmed yet, or no note."""
    if form.get("decision") not in CONFIRMED_DECISIONS:
        return False
    return form.get("confirm") != "yes" or not (form.get("note") or "").strip()
