"""Sections other apps add to the dashboard, so ai_core draws it without importing them.

An app registers a zero-argument callable that returns a section (a class will do) with
Wagtail's hook system, in its own ``wagtail_hooks.py``::

    hooks.register("register_ai_dashboard_section", ReviewSection)

Each section gets its KPIs appended after ai_core's own, its template included at the end of the
page and its CSV download under its ``name`` (``?export=<name>``). The review queue is one
(``review/dashboard.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from wagtail import hooks

HOOK = "register_ai_dashboard_section"


class DashboardSection(Protocol):
    name: str
    """The export key (``?export=<name>``, the CSV file name); unique among the dashboard's tables."""
    template: str
    """Rendered with the dashboard's context plus ``data`` (what ``data()`` returned) and ``s``."""
    csv_headers: list[str]

    def data(self, *, start: dt.date, end: dt.date) -> Any:
        """Everything the section's template and KPIs show for the range (both days included)."""

    def kpis(self, data: Any) -> list[tuple[str, str, str]]:
        """``(label, value as displayed, data-kpi key)`` for each number in the KPI row."""

    def csv_rows(self, *, start: dt.date, end: dt.date) -> Iterable[Sequence[object]]:
        """The rows of the section's CSV, under ``csv_headers``."""


def dashboard_sections() -> list[DashboardSection]:
    """The registered sections, in registration order (INSTALLED_APPS order)."""
    return [factory() for factory in hooks.get_hooks(HOOK)]
