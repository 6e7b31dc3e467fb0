"""Server-rendered SVG charts for the dashboard: no JavaScript, nothing fetched, nothing sent.

A chart is an `<svg role="img">` named by its `<title>` and `<desc>`; each bar segment carries
its own `<title>` (the browser's tooltip), the legend is text, and the colours are Okabe & Ito's
colour-blind-safe palette with a different white texture per series and a white line between
stacked segments, so the series stay apart in greyscale too. `data_table` gives the same numbers
as an HTML table: the text alternative a page shows beside the chart.

Ids inside a chart derive from its title, so titles must be unique on a page.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

# Okabe & Ito (2008), "Color Universal Design", in a fixed order; yellow comes late because it
# is faint on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
# Drawn in white over a series' colour, in turn: plain, diagonal stripes, dots, horizontal stripes.
_TEXTURES = (
    "",
    '<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke="#fff" stroke-width="1.2"/>',
    '<circle cx="3" cy="3" r="1.2" fill="#fff"/>',
    '<path d="M0,3 h6" stroke="#fff" stroke-width="1.2"/>',
)
_PERCENT_TICKS = (0.0, 25.0, 50.0, 75.0, 100.0)

WIDTH = 400
"""viewBox units; the chart scales to its container, so text of 12 units stays legible on a phone."""
PLOT_HEIGHT = 180
TOP = 10
RIGHT = 10
FONT = 12
CHAR = 7  # an average glyph's width at FONT: labels are placed without measuring text
MAX_X_LABELS = 8
MAX_BAR = 48
X_LABELS = 22
LEGEND_ROW = 18
EMPTY_HEIGHT = 80
GRID = "#767676"


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked segment per day: `values[i]` belongs to `days[i]`."""

    name: str
    values: Sequence[float]


def stacked_bars(
    *,
    title: str,
    description: str,
    days: Sequence[date],
    series: Sequence[Series],
    unit: str = "messages",
    percent: bool = False,
) -> Markup:
    """One bar per day, stacked bottom-up in the order of `series`.

    `unit` is plural ("messages", "replies"); a count of one reads in the singular. In `percent`
    mode each day with any value fills the full height and its segments are that day's shares.
    Raises ValueError for a series without exactly one finite, non-negative value per day.
    """
    _check(days, series)
    cid = _chart_id(title)
    totals = _totals(days, series)
    if not any(totals):
        text = f'<text x="{WIDTH / 2:g}" y="{EMPTY_HEIGHT / 2:g}" text-anchor="middle" dominant-baseline="middle">'
        return _svg(cid, title, description, EMPTY_HEIGHT, f"{text}No {escape(unit)} in this period</text>")

    whole = all(float(v).is_integer() for s in series for v in s.values)
    ticks = _PERCENT_TICKS if percent else _ticks(max(totals), whole=whole)
    labels = [f"{_number(t)} %" if percent else _number(t) for t in ticks]
    left = CHAR * max(map(len, labels)) + 10
    base = TOP + PLOT_HEIGHT

    def y(value: float) -> float:
        return base - value / ticks[-1] * PLOT_HEIGHT

    patterns = [
        f'<pattern id="{cid}-s{k}" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="{_colour(k)}"/>{_texture(k)}</pattern>'
        for k in range(len(series))
    ]
    parts = [f"<defs>{''.join(patterns)}</defs>", '<g class="y-axis">']
    for tick, label in zip(ticks, labels, strict=True):
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - RIGHT}" y1="{y(tick):.2f}" y2="{y(tick):.2f}" stroke="{GRID}" '
            f'stroke-width="{1 if tick == 0 else 0.25}"/><text x="{left - 6}" y="{y(tick):.2f}" '
            f'text-anchor="end" dominant-baseline="middle">{label}</text>'
        )
    parts.append('</g><g class="bars">')
    slot = (WIDTH - RIGHT - left) / len(days)
    parts += _bars(cid, days, series, totals, unit=unit, percent=percent, left=left, slot=slot, y=y)
    parts.append('</g><g class="x-axis">')
    for i in range(0, len(days), math.ceil(len(days) / MAX_X_LABELS)):
        day = days[i]
        parts.append(
            f'<text x="{left + slot * (i + 0.5):.2f}" y="{base + 16}" text-anchor="middle">{day:%b} {day.day}</text>'
        )
    parts.append("</g>")
    legend, legend_height = _legend(cid, series, left=left, top=base + X_LABELS)
    return _svg(cid, title, description, base + X_LABELS + legend_height, "".join(parts) + legend)


def data_table(*, caption: str, days: Sequence[date], series: Sequence[Series], percent: bool = False) -> Markup:
    """The chart's numbers: a row per day, a column per series, a total column and a total row.

    In `percent` mode a cell reads "40 % (12)": its share of the day's total, then the count.
    """
    _check(days, series)
    totals = _totals(days, series)

    def cell(value: float, total: float) -> str:
        if not percent:
            return f"<td>{_number(value)}</td>"
        return f"<td>{_percent(value, total)} ({_number(value)})</td>" if total else f"<td>{_number(value)}</td>"

    head = "".join(f'<th scope="col">{escape(s.name)}</th>' for s in series)
    rows = "".join(
        f'<tr><th scope="row">{day.isoformat()}</th>{"".join(cell(s.values[i], totals[i]) for s in series)}'
        f"<td>{_number(totals[i])}</td></tr>"
        for i, day in enumerate(days)
    )
    grand = sum(totals)
    foot = "".join(cell(sum(s.values), grand) for s in series)
    return Markup(
        f'<table><caption>{escape(caption)}</caption><thead><tr><th scope="col">Day</th>{head}'
        f'<th scope="col">Total</th></tr></thead><tbody>{rows}</tbody><tfoot><tr><th scope="row">Total</th>'
        f"{foot}<td>{_number(grand)}</td></tr></tfoot></table>"
    )


def _bars(
    cid: str,
    days: Sequence[date],
    series: Sequence[Series],
    totals: Sequence[float],
    *,
    unit: str,
    percent: bool,
    left: float,
    slot: float,
    y: Callable[[float], float],
) -> list[str]:
    width = min(slot * 0.7, MAX_BAR)
    rects = []
    for i, (day, total) in enumerate(zip(days, totals, strict=True)):
        x = left + slot * i + (slot - width) / 2
        bottom = 0.0
        for k, s in enumerate(series):
            value = s.values[i]
            if not value:
                continue
            size = value / total * 100 if percent else value
            amount = (
                f"{_percent(value, total)} ({_number(value)} of {_number(total)})"
                if percent
                else f"{_number(value)} {_unit(unit, value)}"
            )
            rects.append(
                f'<rect x="{x:.2f}" y="{y(bottom + size):.2f}" width="{width:.2f}" '
                f'height="{y(bottom) - y(bottom + size):.2f}" fill="{_fill(cid, k)}" stroke="#fff" '
                f'stroke-width="1"><title>{escape(f"{day.isoformat()} · {s.name}: {amount}")}</title></rect>'
            )
            bottom += size
    return rects


def _legend(cid: str, series: Sequence[Series], *, left: float, top: float) -> tuple[str, float]:
    """Swatch and name per series, wrapped into rows; returns the markup and its height."""
    x, y = left, top
    items = ['<g class="legend">']
    for k, s in enumerate(series):
        width = 16 + CHAR * len(s.name) + 14
        if x > left and x + width > WIDTH:
            x, y = left, y + LEGEND_ROW
        items.append(
            f'<rect x="{x:.2f}" y="{y}" width="12" height="12" fill="{_fill(cid, k)}" stroke="{GRID}" '
            f'stroke-width="0.5"/><text x="{x + 16:.2f}" y="{y + 6}" dominant-baseline="middle">'
            f"{escape(s.name)}</text>"
        )
        x += width
    items.append("</g>")
    return "".join(items), y + LEGEND_ROW - top


def _svg(cid: str, title: str, description: str, height: float, content: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'viewBox="0 0 {WIDTH} {height:g}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}" fill="currentColor">'
        f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(description)}</desc>'
        f"{content}</svg>"
    )


def _ticks(maximum: float, *, whole: bool) -> tuple[float, ...]:
    """0 up to the first multiple of a step of 1, 2 or 5 × 10^k at or above `maximum`, in 2–4 steps.

    Whole counts never get a fractional step, so a maximum of 1 gives 0, 1, 2 rather than 0, 0.5, 1.
    """
    exponent = math.floor(math.log10(maximum)) - 1
    step = next(
        m * 10.0**k
        for k in range(exponent, exponent + 3)
        for m in (1, 2, 5)
        if math.ceil(round(maximum / (m * 10.0**k), 9)) <= 4
    )
    if whole:
        step = max(step, 1.0)
    steps = max(math.ceil(round(maximum / step, 9)), 2)
    return tuple(round(i * step, 9) for i in range(steps + 1))


def _check(days: Sequence[date], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(days):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(days)} days")
        if not all(math.isfinite(v) and v >= 0 for v in s.values):
            raise ValueError(f"series {s.name!r} has a negative or non-finite value")


def _totals(days: Sequence[date], series: Sequence[Series]) -> list[float]:
    return [sum(s.values[i] for s in series) for i in range(len(days))]


def _chart_id(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"chart-{slug or hashlib.sha1(title.encode()).hexdigest()[:8]}"


def _colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def _texture(k: int) -> str:
    """Shifted once per round of the palette, so colour and texture together stay distinct for 32 series."""
    return _TEXTURES[(k + k // len(PALETTE)) % len(_TEXTURES)]


def _fill(cid: str, k: int) -> str:
    return f"url(#{cid}-s{k}) {_colour(k)}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def _percent(part: float, whole: float) -> str:
    return f"{math.floor(part / whole * 100 + 0.5)} %"


def _unit(unit: str, value: float) -> str:
    """The singular for a count of one: "replies" → "reply", "messages" → "message"."""
    if value != 1:
        return unit
    return unit[:-3] + "y" if unit.endswith("ies") else unit.removesuffix("s")
