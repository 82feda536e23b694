"""Transparency statistics over a date range: a CSV table and a self-contained HTML page.

Counts cases by category and surface (DM, group, public), automated flags
against user reports, the time to first review and to action (percentiles,
in hours), and the share of automated flags that reviewers confirmed (any
decision but ``dismiss``: the precision of automated flagging). Charts are
inline SVG: the page loads nothing from anywhere.
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.cases.models import CaseRow
from safeguard.cases.priority import severity
from safeguard.config import Settings
from safeguard.core.clock import aware
from safeguard.errors import InputError

PERCENTILES = (50, 90, 99)


def primary_category(case: CaseRow) -> str:
    """The case's headline category: its worst signal, else its kind."""
    categories = list(case.categories or [])
    if not categories:
        return case.kind
    return max(categories, key=lambda c: (severity([c]), c))


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {f"p{p}": None for p in PERCENTILES}
    array = np.asarray(values, dtype=float)
    return {f"p{p}": round(float(np.percentile(array, p)), 3) for p in PERCENTILES}


@dataclass(slots=True)
class Stats:
    """Transparency statistics for ``[start, end)``."""

    start: date
    end: date
    total: int = 0
    by_category: Counter = field(default_factory=Counter)
    by_surface: Counter = field(default_factory=Counter)
    by_category_surface: Counter = field(default_factory=Counter)
    by_source: Counter = field(default_factory=Counter)
    by_decision: Counter = field(default_factory=Counter)
    first_review_hours: dict = field(default_factory=dict)
    action_hours: dict = field(default_factory=dict)
    automated_decided: int = 0
    automated_confirmed: int = 0
    sextortion_cases: int = 0
    median_action_hours_by_kind: dict = field(default_factory=dict)

    @property
    def automated_precision(self) -> float | None:
        """Share of decided automated flags confirmed by reviewers."""
        if not self.automated_decided:
            return None
        return round(self.automated_confirmed / self.automated_decided, 4)

    def rows(self) -> list[tuple[str, str, object]]:
        """(metric, dimension, value) rows: the CSV form."""
        out: list[tuple[str, str, object]] = [
            ("period_start", "", self.start.isoformat()),
            ("period_end", "", self.end.isoformat()),
            ("cases_total", "", self.total),
        ]
        out += [("cases_by_category", k, v) for k, v in sorted(self.by_category.items())]
        out += [("cases_by_surface", k, v) for k, v in sorted(self.by_surface.items())]
        out += [
            ("cases_by_category_and_surface", f"{c}/{s}", v)
            for (c, s), v in sorted(self.by_category_surface.items())
        ]
        out += [("cases_by_source", k, v) for k, v in sorted(self.by_source.items())]
        out += [("decisions", k, v) for k, v in sorted(self.by_decision.items())]
        out += [
            ("hours_to_first_review", k, "" if v is None else v) for k, v in self.first_review_hours.items()
        ]
        out += [("hours_to_action", k, "" if v is None else v) for k, v in self.action_hours.items()]
        out.append(("sextortion_cases", "", self.sextortion_cases))
        out += [
            ("median_hours_to_action", k, "" if v is None else v)
            for k, v in sorted(self.median_action_hours_by_kind.items())
        ]
        out += [
            ("automated_flags_decided", "", self.automated_decided),
            ("automated_flags_confirmed", "", self.automated_confirmed),
            (
                "automated_flags_confirmed_share",
                "",
                "" if self.automated_precision is None else self.automated_precision,
            ),
        ]
        return out


# The dates a report may cover: wide enough for any real report, and far enough
# from date.max that the day after the end still exists.
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


def check_range(start: date, end: date, *, names: tuple[str, str] = ("from", "to")) -> None:
    """Raise ``InputError`` naming the field when the range is not one a report can cover."""
    for value, name in ((start, names[0]), (end, names[1])):
        if not EARLIEST <= value <= LATEST:
            raise InputError(f"must be between {EARLIEST} and {LATEST}, got {value}", field=name)
    if end < start:
        raise InputError(f"must not be before '{names[0]}'", field=names[1])


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    from datetime import UTC

    check_range(start, end)
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1),
    )


def first_decision_at(case: CaseRow) -> datetime | None:
    """When the case was first acted on: the earliest decision's time, else ``decided_at``."""
    for item in case.actions or []:
        value = item.get("at")
        if isinstance(value, str):
            try:
                return aware(datetime.fromisoformat(value))
            except ValueError:
                continue
    return aware(case.decided_at) if case.decided_at is not None else None


def _median(values: list[float]) -> float | None:
    return round(float(np.median(np.asarray(values, dtype=float))), 3) if values else None


def compute(session: Session, settings: Settings, start: date, end: date) -> Stats:
    """Statistics over cases opened from ``start`` to ``end`` inclusive (reads only)."""
    lo, hi = _bounds(start, end)
    stats = Stats(start, end)
    first_review: list[float] = []
    action: list[float] = []
    action_by_kind: dict[str, list[float]] = {}
    for case in session.execute(
        select(CaseRow).where(CaseRow.created_at >= lo, CaseRow.created_at < hi, CaseRow.kind != "appeal")
    ).scalars():
        stats.total += 1
        category = primary_category(case)
        stats.by_category[category] += 1
        stats.by_surface[case.surface] += 1
        stats.by_category_surface[(category, case.surface)] += 1
        stats.by_source[case.source] += 1
        created = aware(case.created_at)
        if case.first_reviewed_at is not None:
            first_review.append((aware(case.first_reviewed_at) - created).total_seconds() / 3600)
        if case.decided_at is not None:
            action.append((aware(case.decided_at) - created).total_seconds() / 3600)
        if "sextortion" in (case.categories or []):
            stats.sextortion_cases += 1
        acted = first_decision_at(case)
        if acted is not None:
            action_by_kind.setdefault(case.kind, []).append((acted - created).total_seconds() / 3600)
        decisions = [a.get("decision") for a in case.actions or []]
        if decisions:
            stats.by_decision[decisions[0]] += 1
            if case.source == "automated":
                stats.automated_decided += 1
                stats.automated_confirmed += decisions[0] != "dismiss"
    stats.first_review_hours = _percentiles(first_review)
    stats.action_hours = _percentiles(action)
    stats.median_action_hours_by_kind = {kind: _median(v) for kind, v in sorted(action_by_kind.items())}
    return stats


def to_csv(stats: Stats) -> str:
    """The statistics as CSV: metric, dimension, value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "dimension", "value"])
    writer.writerows(stats.rows())
    return buffer.getvalue()


def bar_chart(title: str, data: list[tuple[str, float]], *, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG (labels escaped)."""
    width, bar, gap, label_w = 560, 20, 8, 200
    height = 30 + max(len(data), 1) * (bar + gap)
    peak = max((v for _, v in data), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html.escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{html.escape(title)}</text>',
    ]
    if not data:
        parts.append('<text x="0" y="44" font-size="12">no data</text>')
    for i, (label, value) in enumerate(data):
        y = 28 + i * (bar + gap)
        length = (width - label_w - 70) * (value / peak)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar}" fill="#3b6ea5"/>')
        end = label_w + length + 6
        parts.append(f'<text x="{end:.1f}" y="{y + 15}" font-size="12">{value:g}{html.escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def to_html(stats: Stats, *, title: str = "Safeguard transparency report") -> str:
    """A self-contained HTML page: charts as inline SVG, tables, no external assets."""
    charts = [
        bar_chart("Cases by category", sorted(stats.by_category.items(), key=lambda kv: -kv[1])),
        bar_chart("Cases by surface", sorted(stats.by_surface.items())),
        bar_chart("Automated flags and user reports", sorted(stats.by_source.items())),
        bar_chart(
            "Hours to first review",
            [(k, v) for k, v in stats.first_review_hours.items() if v is not None],
            unit=" h",
        ),
        bar_chart(
            "Hours to action", [(k, v) for k, v in stats.action_hours.items() if v is not None], unit=" h"
        ),
    ]
    precision = stats.automated_precision
    share = "n/a" if precision is None else f"{precision:.0%}"
    rows = "".join(
        f"<tr><td>{html.escape(m)}</td><td>{html.escape(str(d))}</td><td>{html.escape(str(v))}</td></tr>"
        for m, d, v in stats.rows()
    )
    period = f"{stats.start.isoformat()} to {stats.end.isoformat()}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} ({period})</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1d2530; max-width: 960px; }}
table {{ border-collapse: collapse; margin-top: 1rem; }}
td, th {{ border: 1px solid #ccd; padding: 4px 8px; text-align: left; font-size: 13px; }}
.charts svg {{ display: block; margin: 1rem 0; }}
.kpi {{ font-size: 1.2rem; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>Period: {period}. Cases opened: <strong>{stats.total}</strong>.</p>
<p class="kpi">Sextortion cases: <strong>{stats.sextortion_cases}</strong></p>
<p class="kpi">Automated flags confirmed by reviewers: <strong>{share}</strong>
({stats.automated_confirmed} of {stats.automated_decided} decided)</p>
<div class="charts">{"".join(charts)}</div>
<h2>All figures</h2>
<table><thead><tr><th>metric</th><th>dimension</th><th>value</th></tr></thead>
<tbody>{rows}</tbody></table>
</body></html>
"""
