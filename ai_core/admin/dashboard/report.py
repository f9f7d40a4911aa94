"""Everything the dashboard shows for one date range, gathered from the selectors and from the
sections other apps register (``sections.py``).

A fixed number of queries whatever the amount of data: one per aggregate, plus one to put titles
on the pages of the cost-by-page table, plus what each section's ``data()`` costs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from wagtail.models import Page

from ai_core import selectors
from ai_core.selectors import (
    CircuitRow,
    CodeCount,
    DayUsage,
    Fallbacks,
    FeedbackRow,
    LatencyRow,
    RequestCounts,
    UsageRow,
    UsageTotals,
)

from .charts import Point, bar_chart
from .sections import DashboardSection, dashboard_sections

TOP_ROWS = 20


@dataclass(kw_only=True)
class DashboardReport:
    start: dt.date
    end: dt.date
    requests: RequestCounts
    provider_errors: list[CodeCount]
    totals: UsageTotals
    days: list[DayUsage]
    by_prompt_key: list[UsageRow]
    by_model: list[UsageRow]
    by_user: list[UsageRow]
    by_page: list[UsageRow]
    caching: dict
    latency: list[LatencyRow]
    fallbacks: Fallbacks
    circuits: list[CircuitRow]
    feedback: list[FeedbackRow]
    reuse: selectors.ApprovedReuse = field(default_factory=lambda: selectors.ApprovedReuse())
    sections: list[tuple[DashboardSection, Any]] = field(default_factory=list)
    """Each registered section with what its ``data()`` returned for this range."""

    @property
    def circuit_openings(self) -> int:
        return sum(row.openings for row in self.circuits)  # a few rows, one per circuit

    @property
    def section_kpis(self) -> list[tuple[str, str, str]]:
        """The sections' KPIs, shown after ai_core's own: ``(label, value, data-kpi key)``."""
        return [kpi for section, data in self.sections for kpi in section.kpis(data)]

    def cost_chart(self) -> str:
        return bar_chart(
            points=[Point(day=day.day, value=day.cost) for day in self.days],
            title="Cost per day (USD)",
            total=f"${self.totals.cost:.4f} in total",
            format_value=lambda value: f"${value:.4f}",
        )

    def tokens_chart(self) -> str:
        return bar_chart(
            points=[Point(day=day.day, value=day.input_tokens + day.output_tokens) for day in self.days],
            title="Tokens per day (input + output)",
            total=f"{self.totals.input_tokens + self.totals.output_tokens:,} tokens",
            format_value=lambda value: f"{value:,.0f}",
        )


def page_labels(rows: list[UsageRow]) -> list[UsageRow]:
    """Put page titles on cost-by-page rows with one query; a deleted page keeps its id."""
    ids = [row.key for row in rows if row.key is not None]
    titles = dict(Page.objects.filter(pk__in=ids).values_list("pk", "title")) if ids else {}
    return [
        dataclasses.replace(
            row,
            label="(no page)"
            if row.key is None
            else f"{titles[row.key]} (#{row.key})"
            if row.key in titles
            else f"(deleted page #{row.key})",
        )
        for row in rows
    ]


def dashboard_report(*, start: dt.date, end: dt.date, limit: int | None = TOP_ROWS) -> DashboardReport:
    span = {"start": start, "end": end}
    return DashboardReport(
        start=start,
        end=end,
        requests=selectors.request_counts(**span),
        provider_errors=selectors.provider_errors(**span),
        totals=selectors.usage_totals(**span),
        days=selectors.usage_by_day(**span),
        by_prompt_key=selectors.usage_by_prompt_key(**span),
        by_model=selectors.usage_by_model(**span),
        by_user=selectors.usage_by_user(**span, limit=limit),
        by_page=page_labels(selectors.usage_by_page(**span, limit=limit)),
        caching=selectors.cache_rates(**span),
        latency=selectors.latency_by_prompt_key(**span),
        fallbacks=selectors.fallbacks_taken(**span),
        circuits=selectors.circuit_openings(**span),
        feedback=selectors.feedback_by_prompt_version(**span),
        reuse=selectors.approved_answer_reuse(**span),
        sections=[(section, section.data(**span)) for section in dashboard_sections()],
    )
