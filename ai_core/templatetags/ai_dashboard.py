"""Number formats for the AI dashboard, kept in one place so the page and its charts agree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template

register = template.Library()
DASH = "—"


@register.filter
def usd(value: Decimal | float | None) -> str:
    """Four decimals: single calls cost fractions of a cent, and rounding them to $0.00 hides them."""
    return DASH if value is None else f"${value:,.4f}"


@register.filter
def percent(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f} %"


@register.filter
def millis(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f} ms"


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """Coarse on purpose: "how long do reviewers take" is answered in minutes and hours."""
    if value is None:
        return DASH
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


@register.filter
def thousands(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"
