"""CSV export of the dashboard's tables, one file per table, for the same date range.

Cells that people control (prompt keys, usernames, page titles, error codes) are neutralised
when a spreadsheet would read them as a formula (CSV injection, OWASP's "CSV Injection").
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse

from ai_core import selectors

from .report import page_labels
from .sections import DashboardSection, dashboard_sections

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
USAGE_HEADERS = [
    "calls",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
]

Rows = Iterable[Sequence[object]]


def safe_cell(value: object) -> object:
    """Prefix text a spreadsheet would evaluate with an apostrophe; numbers pass unchanged, costs
    in plain notation (a zero sum of 8-decimal costs is Decimal("0E-8"), which str() keeps)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _usage_cells(row: selectors.UsageTotals) -> list[object]:
    return [row.calls, row.cost, row.input_tokens, row.output_tokens, row.cache_read_tokens,
            row.cache_write_tokens]  # fmt: skip


def _cost_by_day(start: dt.date, end: dt.date) -> Rows:
    for row in selectors.usage_by_day(start=start, end=end):
        yield [row.day.isoformat(), *_usage_cells(row)]


def _breakdown(selector: Callable[..., list[selectors.UsageRow]], *, with_key: bool = False):
    def rows(start: dt.date, end: dt.date) -> Rows:
        for row in selector(start=start, end=end):
            yield [*([row.key] if with_key else []), row.label, *_usage_cells(row)]

    return rows


def _cost_by_page(start: dt.date, end: dt.date) -> Rows:
    for row in page_labels(selectors.usage_by_page(start=start, end=end)):
        yield [row.key, row.label, *_usage_cells(row)]


def _latency(start: dt.date, end: dt.date) -> Rows:
    for row in selectors.latency_by_prompt_key(start=start, end=end):
        yield [row.prompt_key, row.calls, _round(row.p50_ms), _round(row.p95_ms)]


def _failures(start: dt.date, end: dt.date) -> Rows:
    for row in selectors.request_counts(start=start, end=end).failures:
        yield ["request", row.code, row.count]
    for row in selectors.provider_errors(start=start, end=end):
        yield ["provider_call", row.code, row.count]


def _fallbacks(start: dt.date, end: dt.date) -> Rows:
    for row in selectors.fallbacks_taken(start=start, end=end).by_link:
        yield [row.provider, row.model, "last good cached answer" if row.from_cache else "model", row.count]


def _circuits(start: dt.date, end: dt.date) -> Rows:
    for row in selectors.circuit_openings(start=start, end=end):
        yield [row.provider, row.model, row.opened, row.reopened, row.closed]


def _feedback(start: dt.date, end: dt.date) -> Rows:
    for row in selectors.feedback_by_prompt_version(start=start, end=end):
        rate = None if row.approval_rate is None else round(row.approval_rate, 4)
        yield [row.prompt_key, row.prompt_version, row.up, row.down, rate]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(kw_only=True, frozen=True)
class Table:
    headers: list[str]
    rows: Callable[[dt.date, dt.date], Rows]


CORE_TABLES: dict[str, Table] = {
    "cost_by_day": Table(headers=["day", *USAGE_HEADERS], rows=_cost_by_day),
    "cost_by_prompt_key": Table(
        headers=["prompt_key", *USAGE_HEADERS], rows=_breakdown(selectors.usage_by_prompt_key)
    ),
    "cost_by_model": Table(headers=["model", *USAGE_HEADERS], rows=_breakdown(selectors.usage_by_model)),
    "cost_by_user": Table(
        headers=["user_id", "user", *USAGE_HEADERS], rows=_breakdown(selectors.usage_by_user, with_key=True)
    ),
    "cost_by_page": Table(headers=["page_id", "page", *USAGE_HEADERS], rows=_cost_by_page),
    "latency": Table(headers=["prompt_key", "calls", "p50_ms", "p95_ms"], rows=_latency),
    "failures": Table(headers=["kind", "reason", "count"], rows=_failures),
    "fallbacks": Table(headers=["provider", "model", "served_by", "count"], rows=_fallbacks),
    "circuits": Table(headers=["provider", "model", "opened", "reopened", "closed"], rows=_circuits),
    "feedback": Table(
        headers=["prompt_key", "prompt_version", "up", "down", "approval_rate"], rows=_feedback
    ),
}


def _section_table(section: DashboardSection) -> Table:
    return Table(
        headers=list(section.csv_headers), rows=lambda start, end: section.csv_rows(start=start, end=end)
    )


def tables() -> dict[str, Table]:
    """ai_core's tables, then one per dashboard section (``review`` from the review app), in the
    order the page shows them."""
    result = dict(CORE_TABLES)
    for section in dashboard_sections():
        if section.name in result:
            raise ImproperlyConfigured(f"Dashboard section {section.name!r}: that export name is taken.")
        result[section.name] = _section_table(section)
    return result


def csv_response(*, table: str, start: dt.date, end: dt.date) -> HttpResponse:
    """The named table as a CSV download; ``table`` must be a key of ``tables()``."""
    spec = tables()[table]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ai-{table}-{start}-{end}.csv"'
    writer = csv.writer(response)
    writer.writerow(spec.headers)
    for row in spec.rows(start, end):
        writer.writerow([safe_cell(cell) for cell in row])
    return response
