"""Reads for the AI usage and quality dashboard, each one aggregate query over a date range.

Every function takes ``start`` and ``end`` as dates, both included, in the site's time zone.
AI days are UTC days: ``TIME_ZONE`` is UTC, budgets reset at UTC midnight (``ai_core.services.today``)
and the daily quality report covers one UTC day, so a "day" here is the same day everywhere.
Sums, counts and percentiles are computed by PostgreSQL: the usage log grows by a row per provider
call, and a dashboard that pulled rows into Python would get slower every day it is useful.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate
from django.utils import timezone

from ai_core.aggregates import PercentileCont
from ai_core.models import AIFeedback, AIRequest, ApprovedAnswer, CircuitEvent, LLMUsageLog
from ai_core.selectors.usage import cache_hit_rates

# PercentileCont is re-exported: review's throughput selector uses it through ai_core.selectors.
__all__ = [
    "MAX_RANGE_DAYS",
    "range_bounds",
    "range_days",
    "CodeCount",
    "RequestCounts",
    "request_counts",
    "provider_errors",
    "UsageTotals",
    "DayUsage",
    "UsageRow",
    "usage_totals",
    "usage_by_day",
    "usage_by_prompt_key",
    "usage_by_model",
    "PromptModelUsage",
    "usage_by_prompt_key_and_model",
    "usage_by_user",
    "usage_by_page",
    "cache_rates",
    "LatencyRow",
    "latency_by_prompt_key",
    "FallbackRow",
    "Fallbacks",
    "fallbacks_taken",
    "CircuitRow",
    "circuit_openings",
    "FeedbackRow",
    "feedback_by_prompt_version",
    "ApprovedReuse",
    "approved_answer_reuse",
    "PercentileCont",
]

MAX_RANGE_DAYS = 366
ZERO = Decimal("0")
ANSWERED = (LLMUsageLog.Outcome.OK, LLMUsageLog.Outcome.CACHE_HIT)


def range_bounds(*, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[start 00:00, end+1 00:00)`` as aware datetimes, so the last day counts in full."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    first = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    return first, timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))


def range_days(*, start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]


def _usage(start: dt.date, end: dt.date) -> QuerySet[LLMUsageLog]:
    since, until = range_bounds(start=start, end=end)
    # ``order_by()`` drops the model's default ordering, which would otherwise join GROUP BY.
    return LLMUsageLog.objects.filter(created_at__gte=since, created_at__lt=until).order_by()


def _usage_sums() -> dict:
    return {
        "calls": Count("id"),
        "cost": Sum("cost_usd", default=ZERO),
        "input_tokens": Sum("input_tokens", default=0),
        "output_tokens": Sum("output_tokens", default=0),
        "cache_read_tokens": Sum("cache_read_tokens", default=0),
        "cache_write_tokens": Sum("cache_write_tokens", default=0),
    }


# -- requests and failures ------------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class CodeCount:
    code: str
    count: int


@dataclass(kw_only=True, frozen=True)
class RequestCounts:
    total: int
    by_status: dict[str, int]
    failures: list[CodeCount]


def request_counts(*, start: dt.date, end: dt.date) -> RequestCounts:
    """Requests submitted in the range by status, and why the failed ones failed."""
    since, until = range_bounds(start=start, end=end)
    requests = AIRequest.objects.filter(created_at__gte=since, created_at__lt=until).order_by()
    by_status = dict(requests.values_list("status").annotate(n=Count("id")))
    failures = (
        requests.filter(status=AIRequest.Status.FAILED)
        .values_list("error_code")
        .annotate(n=Count("id"))
        .order_by("-n", "error_code")
    )
    return RequestCounts(
        total=sum(by_status.values()),  # one number per status, not per row
        by_status={status: by_status.get(status, 0) for status in AIRequest.Status.values},
        failures=[CodeCount(code=code or "unknown", count=n) for code, n in failures],
    )


def provider_errors(*, start: dt.date, end: dt.date) -> list[CodeCount]:
    """Failed provider calls by error code, including those a later fallback link recovered."""
    rows = (
        _usage(start, end)
        .filter(outcome=LLMUsageLog.Outcome.ERROR)
        .values_list("error_code")
        .annotate(n=Count("id"))
        .order_by("-n", "error_code")
    )
    return [CodeCount(code=code or "unknown", count=n) for code, n in rows]


# -- cost and tokens ------------------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class UsageTotals:
    calls: int = 0
    cost: Decimal = ZERO
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(kw_only=True, frozen=True)
class DayUsage(UsageTotals):
    day: dt.date


@dataclass(kw_only=True, frozen=True)
class UsageRow(UsageTotals):
    """One line of a cost breakdown. ``key`` is the grouping value (None for "none")."""

    key: str | int | None
    label: str


def usage_totals(*, start: dt.date, end: dt.date) -> UsageTotals:
    return UsageTotals(**_usage(start, end).aggregate(**_usage_sums()))


def usage_by_day(*, start: dt.date, end: dt.date) -> list[DayUsage]:
    """Cost and tokens per day; a day without calls is present with zeros, so charts show gaps."""
    rows = _usage(start, end).annotate(day=TruncDate("created_at")).values("day").annotate(**_usage_sums())
    by_day = {row.pop("day"): row for row in rows}
    return [DayUsage(day=day, **by_day.get(day, {})) for day in range_days(start=start, end=end)]


def _breakdown(queryset: QuerySet, *, key, label, limit: int | None, unnamed: str = "") -> list[UsageRow]:
    """Group by ``key`` (shown as ``label``), most expensive first; ``unnamed`` labels the empty group."""
    rows = (
        queryset.annotate(key=key, label=label)
        .values("key", "label")
        .annotate(**_usage_sums())
        .order_by("-cost", F("key").asc(nulls_last=True))
    )
    return [
        UsageRow(**{**row, "label": row["label"] or unnamed}) for row in (rows[:limit] if limit else rows)
    ]


def usage_by_prompt_key(*, start: dt.date, end: dt.date, limit: int | None = None) -> list[UsageRow]:
    """Embedding calls have no prompt key; they show as one "indexing" line."""
    return _breakdown(
        _usage(start, end),
        key=F("prompt_key"),
        label=F("prompt_key"),
        limit=limit,
        unnamed="(indexing: embeddings)",
    )


def usage_by_model(*, start: dt.date, end: dt.date, limit: int | None = None) -> list[UsageRow]:
    return _breakdown(
        _usage(start, end), key=F("model"), label=Concat("provider", Value(":"), "model"), limit=limit
    )


@dataclass(kw_only=True, frozen=True)
class PromptModelUsage(UsageTotals):
    prompt_key: str  # "" for embeddings, which run for no prompt
    model: str


def usage_by_prompt_key_and_model(*, start: dt.date, end: dt.date) -> list[PromptModelUsage]:
    """Cost per prompt key and model together, most expensive first (the daily quality report)."""
    rows = (
        _usage(start, end)
        .values("prompt_key", "model")
        .annotate(**_usage_sums())
        .order_by("-cost", "prompt_key", "model")
    )
    return [PromptModelUsage(**row) for row in rows]


def usage_by_user(*, start: dt.date, end: dt.date, limit: int | None = None) -> list[UsageRow]:
    """Generation cost per person who asked. Indexing is nobody's request and is left out here."""
    return _breakdown(
        _usage(start, end).filter(request__isnull=False),
        key=F("request__user_id"),
        label=F(f"request__user__{get_user_model().USERNAME_FIELD}"),
        limit=limit,
        unnamed="(anonymous visitors)",
    )


def usage_by_page(*, start: dt.date, end: dt.date, limit: int | None = None) -> list[UsageRow]:
    """Cost per Wagtail page: answers and summaries about it plus the embeddings that indexed it.

    ``label`` is left empty: page titles belong to the admin layer, which looks them up in one
    query (ai_core stays page-agnostic).
    """
    indexed_page = Case(
        When(subject_type="page", subject_id__regex=r"^[0-9]{1,9}$", then=Cast("subject_id", IntegerField())),
        default=None,
        output_field=IntegerField(),
    )
    return _breakdown(
        _usage(start, end),
        key=Coalesce("request__page_id", indexed_page, output_field=IntegerField()),
        label=Value(""),
        limit=limit,
    )


def cache_rates(*, start: dt.date, end: dt.date) -> dict:
    """Response-cache share of answers and prompt-cache share of input tokens over the range."""
    since, until = range_bounds(start=start, end=end)
    return cache_hit_rates(since=since, until=until)


# -- latency --------------------------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class LatencyRow:
    prompt_key: str
    calls: int
    p50_ms: float | None
    p95_ms: float | None


def latency_by_prompt_key(*, start: dt.date, end: dt.date) -> list[LatencyRow]:
    """p50/p95 of successful provider calls. Cache hits (0 ms) and errors would skew what a visitor
    waits for a real answer, so only calls that produced one count."""
    rows = (
        _usage(start, end)
        .filter(outcome=LLMUsageLog.Outcome.OK)
        .values("prompt_key")
        .annotate(
            calls=Count("id"),
            p50_ms=PercentileCont("latency_ms", fraction=0.5),
            p95_ms=PercentileCont("latency_ms", fraction=0.95),
        )
        .order_by("prompt_key")
    )
    return [
        LatencyRow(**{**row, "prompt_key": row["prompt_key"] or "(indexing: embeddings)"}) for row in rows
    ]


# -- resilience -----------------------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class FallbackRow:
    provider: str
    model: str
    from_cache: bool
    count: int


@dataclass(kw_only=True, frozen=True)
class Fallbacks:
    requests: int
    by_link: list[FallbackRow]


def fallbacks_taken(*, start: dt.date, end: dt.date) -> Fallbacks:
    """Answers that came from a later link of the chain than the first one tried.

    The generation service logs a row for every link it tries (including a skipped open circuit),
    so an answer is a fallback when an error row precedes it for the same request and the same
    task attempt. A success on a later Celery retry is a retry, not a fallback, and is not counted.
    """
    failed_before = LLMUsageLog.objects.filter(
        request_id=OuterRef("request_id"),
        attempt=OuterRef("attempt"),
        operation=LLMUsageLog.Operation.GENERATION,
        outcome=LLMUsageLog.Outcome.ERROR,
        id__lt=OuterRef("id"),
    )
    served = _usage(start, end).filter(
        Exists(failed_before),
        request__isnull=False,
        operation=LLMUsageLog.Operation.GENERATION,
        outcome__in=ANSWERED,
    )
    rows = (
        served.values("provider", "model", "outcome")
        .annotate(n=Count("id"))
        .order_by("-n", "provider", "model")
    )
    return Fallbacks(
        requests=served.aggregate(n=Count("request_id", distinct=True))["n"],
        by_link=[
            FallbackRow(
                provider=row["provider"],
                model=row["model"],
                from_cache=row["outcome"] == LLMUsageLog.Outcome.CACHE_HIT,
                count=row["n"],
            )
            for row in rows
        ],
    )


@dataclass(kw_only=True, frozen=True)
class CircuitRow:
    provider: str
    model: str
    opened: int
    reopened: int
    closed: int

    @property
    def openings(self) -> int:
        return self.opened + self.reopened


def circuit_openings(*, start: dt.date, end: dt.date) -> list[CircuitRow]:
    """Circuit transitions per provider+model, from the rows the breakers write (not Redis, whose
    counters start again at zero whenever it restarts)."""
    since, until = range_bounds(start=start, end=end)
    event = CircuitEvent.Event
    rows = (
        CircuitEvent.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("provider", "model")
        .annotate(
            opened=Count("id", filter=Q(event=event.OPENED)),
            reopened=Count("id", filter=Q(event=event.REOPENED)),
            closed=Count("id", filter=Q(event=event.CLOSED)),
        )
        .order_by("-opened", "-reopened", "provider", "model")
    )
    return [CircuitRow(**row) for row in rows]


# -- quality --------------------------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class FeedbackRow:
    prompt_key: str
    prompt_version: int
    up: int
    down: int

    @property
    def total(self) -> int:
        return self.up + self.down

    @property
    def approval_rate(self) -> float | None:
        return self.up / self.total if self.total else None


def feedback_by_prompt_version(*, start: dt.date, end: dt.date) -> list[FeedbackRow]:
    """Votes per prompt key and version. A changed vote counts once, on the day it last changed."""
    since, until = range_bounds(start=start, end=end)
    rows = (
        AIFeedback.objects.filter(updated_at__gte=since, updated_at__lt=until)
        .values("prompt_key", "prompt_version")
        .annotate(
            up=Count("id", filter=Q(vote=AIFeedback.Vote.UP)),
            down=Count("id", filter=Q(vote=AIFeedback.Vote.DOWN)),
        )
        .order_by("prompt_key", "prompt_version")
    )
    return [FeedbackRow(**row) for row in rows]


# -- approved answers reused ----------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class ApprovedReuse:
    """Questions answered from a reviewer-approved answer: each one a model call not made and an
    output not sent to the review queue again. ``cost_avoided`` prices each reuse at what the
    approved output cost to generate (an estimate: the same question costs about the same)."""

    answers: int = 0
    cost_avoided: Decimal = ZERO
    active_approved: int = 0


def approved_answer_reuse(*, start: dt.date, end: dt.date) -> ApprovedReuse:
    hits = dict(
        _usage(start, end)
        .filter(outcome=LLMUsageLog.Outcome.APPROVED_ANSWER)
        .values_list("subject_id")
        .annotate(n=Count("id"))
    )
    ids = [int(pk) for pk in hits if str(pk).isdigit()]
    costs = dict(ApprovedAnswer.objects.filter(pk__in=ids).values_list("pk", "generation_cost_usd"))
    return ApprovedReuse(
        answers=sum(hits.values()),
        cost_avoided=sum((costs.get(int(pk), ZERO) * n for pk, n in hits.items() if str(pk).isdigit()), ZERO),
        active_approved=ApprovedAnswer.objects.filter(status=ApprovedAnswer.Status.ACTIVE).count(),
    )
