"""Server-rendered SVG bar charts: no JavaScript library to load, audit or keep up to date.

Geometry is computed here from already aggregated points (one per day); every piece of text goes
through ``format_html`` so nothing from the data can inject markup.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 900, 220
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 14, 30
MAX_X_LABELS = 12


@dataclass(kw_only=True, frozen=True)
class Point:
    day: dt.date
    value: float | int | Decimal


def nice_ceiling(value: float) -> float:
    """The smallest 1/2/2.5/5 x 10^n at or above ``value``, so axis labels are round numbers."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def bar_chart(
    *, points: Sequence[Point], title: str, total: str, format_value: Callable[[float], str]
) -> SafeString:
    """Bars per day with a labelled y axis (0, half, top) and at most twelve date labels.

    Each bar carries a ``<title>`` with its exact value, which browsers show on hover and screen
    readers announce; the chart as a whole is labelled with its title and total.
    """
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max((float(p.value) for p in points), default=0.0))
    slot = plot_w / max(len(points), 1)
    bar_w = max(slot * 0.8, 1.0)
    label_every = max(1, math.ceil(len(points) / MAX_X_LABELS))
    baseline = TOP + plot_h

    bars, x_labels = [], []
    for index, point in enumerate(points):
        height = plot_h * float(point.value) / top
        x = LEFT + index * slot + (slot - bar_w) / 2
        bars.append((f"{x:.1f}", f"{baseline - height:.1f}", f"{bar_w:.1f}", f"{height:.1f}",
                     point.day.isoformat(), format_value(point.value)))  # fmt: skip
        if index % label_every == 0:
            x_labels.append((f"{x + bar_w / 2:.1f}", baseline + 16, point.day.strftime("%b %d")))
    y_ticks = [(f"{baseline - plot_h * share:.1f}", format_value(top * share)) for share in (0, 0.5, 1)]

    return format_html(
        '<figure class="ai-dashboard-chart">'
        '<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{title}: {total}" '
        'xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="inherit">'
        "<title>{title}: {total}</title>"
        '<g class="ai-dashboard-chart__grid">{grid}</g>'
        '<g class="ai-dashboard-chart__bars">{bars}</g>'
        '<g class="ai-dashboard-chart__x" text-anchor="middle">{x_labels}</g>'
        "</svg>"
        "<figcaption>{title}: <strong>{total}</strong></figcaption>"
        "</figure>",
        w=WIDTH,
        h=HEIGHT,
        title=title,
        total=total,
        grid=format_html_join(
            "",
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity="0.2"/>'
            '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
            ((LEFT, WIDTH - RIGHT, y, y, LEFT - 6, y, label) for y, label in y_ticks),
        ),
        bars=format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
            bars,
        ),
        x_labels=format_html_join("", '<text x="{}" y="{}">{}</text>', x_labels),
    )
