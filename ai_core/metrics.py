"""Prometheus metrics of the AI engine, read from durable state at scrape time.

Why a custom collector and not prometheus-client's ``Counter``/``Histogram`` objects: the numbers
that matter (provider calls, tokens, cost, latency) are produced inside Celery prefork children,
and the scrape is answered by one of several web processes. In-process counters would each see
a fragment, and would reset on every deploy. Multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``)
would need one directory shared by web and worker processes, which they do not have on separate
hosts. Every provider call is already a ``LLMUsageLog`` row and every request an ``AIRequest``
row, so the collector asks the database for totals with SQL aggregates (``COUNT ... FILTER``
buckets for the histograms). That is correct whichever process answers, survives restarts, and
the counters stay monotonic because the rows are never deleted by the pipeline (an admin deleting
rows shows up as a counter reset, which Prometheus' ``rate()`` tolerates).

Queue depth is ``LLEN`` of each configured Celery queue in the Redis broker and circuit states come
from the breakers' shared Redis state: both are gauges of the present, the same from any process.

Scrape cost: two grouped scans of ``ai_core_llmusagelog`` and two of ``ai_core_airequest``, each
under a statement timeout, so a scrape can never pile up on the database (``bench/metrics_scrape.py``:
about 0.4 s at 100k usage rows, 2 s at 1M on a busy 2-core machine). Totals are over all rows, not a
recent window, because Prometheus counters must only go up. When the tables outgrow that, an hourly
roll-up table (closed hours summed once, plus the open hour scanned by ``created_at``) keeps the
same metrics at a constant cost. Nothing here calls a model.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from ai_core.models import AIRequest, LLMUsageLog

logger = logging.getLogger(__name__)

#: Upper bounds (seconds) of the provider-call latency buckets.
CALL_LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
#: Upper bounds (seconds) of submit-to-finish time, queueing and retries included (what a visitor waits).
REQUEST_DURATION_BUCKETS_S = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
#: A scrape that takes longer than this on the database is abandoned (that source reports down).
STATEMENT_TIMEOUT_MS = 5_000
CIRCUIT_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")
OPEN_STATUSES = (AIRequest.Status.PENDING, AIRequest.Status.PROCESSING, AIRequest.Status.AWAITING_REVIEW)

# kombu's Redis transport keeps priority N of queue Q in the list "Q\x06\x16N" (N=0 is plain "Q").
_KOMBU_PRIORITY_SEP = "\x06\x16"
_KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)


def _histogram_buckets(row: dict, bounds: Iterable[float]) -> list[tuple[str, float]]:
    buckets = [(_format_bound(bound), row[f"le_{index}"]) for index, bound in enumerate(bounds)]
    return [*buckets, ("+Inf", row["count"])]


def _format_bound(bound: float) -> str:
    return repr(float(bound))


# --- Database: counters and histograms over all rows.


def _request_families() -> Iterator[Metric]:
    submitted = CounterMetricFamily(
        "lectern_ai_requests", "AI requests submitted, by prompt.", labels=["prompt_key"]
    )
    finished = CounterMetricFamily(
        "lectern_ai_requests_finished",
        "AI requests that reached a final status (done, failed, cancelled).",
        labels=["prompt_key", "status"],
    )
    open_now = GaugeMetricFamily(
        "lectern_ai_requests_open",
        "AI requests not finished yet: queued, being processed or held for review.",
        labels=["prompt_key", "status"],
    )
    totals: dict[str, int] = defaultdict(int)
    rows = AIRequest.objects.order_by().values("prompt_key", "status").annotate(n=Count("id"))
    for row in rows:
        totals[row["prompt_key"]] += row["n"]
        if row["status"] in AIRequest.TERMINAL:
            finished.add_metric([row["prompt_key"], row["status"]], row["n"])
        elif row["status"] in OPEN_STATUSES:
            open_now.add_metric([row["prompt_key"], row["status"]], row["n"])
    for prompt_key, count in sorted(totals.items()):
        submitted.add_metric([prompt_key], count)
    yield from (submitted, finished, open_now)

    duration = HistogramMetricFamily(
        "lectern_ai_request_duration_seconds",
        "Time from submission to the final status (queueing and retries included).",
        labels=["prompt_key", "status"],
    )
    waited = ExpressionWrapper(F("finished_at") - F("created_at"), output_field=DurationField())
    buckets = {
        f"le_{index}": Count("id", filter=Q(waited__lte=dt.timedelta(seconds=bound)))
        for index, bound in enumerate(REQUEST_DURATION_BUCKETS_S)
    }
    rows = (
        AIRequest.objects.order_by()
        .filter(finished_at__isnull=False, status__in=AIRequest.TERMINAL)
        .alias(waited=waited)
        .values("prompt_key", "status")
        .annotate(count=Count("id"), total=Sum("waited"), **buckets)
    )
    for row in rows:
        total = row["total"].total_seconds() if row["total"] else 0.0
        duration.add_metric(
            [row["prompt_key"], row["status"]], _histogram_buckets(row, REQUEST_DURATION_BUCKETS_S), total
        )
    yield duration


def _usage_families() -> Iterator[Metric]:
    calls = CounterMetricFamily(
        "lectern_ai_provider_calls",
        "Provider calls (every attempt and fallback link), by outcome.",
        labels=["provider", "model", "outcome", "error_code"],
    )
    tokens = CounterMetricFamily(
        "lectern_ai_tokens", "Tokens billed by providers.", labels=["provider", "model", "kind"]
    )
    cost = CounterMetricFamily(
        "lectern_ai_cost_usd", "Cost in USD, priced when each call was logged.", labels=["provider", "model"]
    )
    token_sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(TOKEN_KINDS, 0))
    cost_sums: dict[tuple[str, str], float] = defaultdict(float)
    rows = (
        LLMUsageLog.objects.order_by()
        .values("provider", "model", "outcome", "error_code")
        .annotate(
            calls=Count("id"),
            cost=Sum("cost_usd"),
            **{kind: Sum(f"{kind}_tokens") for kind in TOKEN_KINDS},
        )
    )
    for row in rows:
        key = (row["provider"], row["model"])
        calls.add_metric([*key, row["outcome"], row["error_code"]], row["calls"])
        for kind in TOKEN_KINDS:
            token_sums[key][kind] += row[kind] or 0
        cost_sums[key] += float(row["cost"] or 0)
    for key in sorted(token_sums):
        for kind in TOKEN_KINDS:
            tokens.add_metric([*key, kind], token_sums[key][kind])
        cost.add_metric(list(key), cost_sums[key])
    yield from (calls, tokens, cost)

    latency = HistogramMetricFamily(
        "lectern_ai_provider_call_duration_seconds",
        "Latency of provider calls (failed ones included; response-cache hits and reused approved answers excluded).",
        labels=["operation", "prompt_key", "provider"],
    )
    buckets = {
        f"le_{index}": Count("id", filter=Q(latency_ms__lte=round(bound * 1000)))
        for index, bound in enumerate(CALL_LATENCY_BUCKETS_S)
    }
    rows = (
        LLMUsageLog.objects.order_by()
        # Neither is a provider call: their zero latency would pull every quantile down.
        .exclude(outcome__in=[LLMUsageLog.Outcome.CACHE_HIT, LLMUsageLog.Outcome.APPROVED_ANSWER])
        .values("operation", "prompt_key", "provider")
        .annotate(count=Count("id"), total_ms=Sum("latency_ms"), **buckets)
    )
    for row in rows:
        latency.add_metric(
            [row["operation"], row["prompt_key"], row["provider"]],
            _histogram_buckets(row, CALL_LATENCY_BUCKETS_S),
            (row["total_ms"] or 0) / 1000,
        )
    yield latency


def database_families() -> list[Metric]:
    with transaction.atomic(), connection.cursor() as cursor:
        # Local to this transaction: the connection's other queries keep their own limits.
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(STATEMENT_TIMEOUT_MS)])
        return [*_request_families(), *_usage_families()]


# --- Redis: queue depth and circuit states (gauges of the present).


def configured_queues() -> list[str]:
    """The Celery queues this deployment sends to: the default one plus any named in routes."""
    from celery import current_app

    conf = current_app.conf
    names = {conf.task_default_queue}
    names.update(queue.name for queue in conf.task_queues or ())
    routes = conf.task_routes
    for route in routes.values() if isinstance(routes, dict) else ():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return sorted(name for name in names if name)


@functools.cache
def _broker_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def queue_lengths(queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting in each queue (all priorities); tasks a worker has reserved are not counted."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return {}
    prefix = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get("global_keyprefix", "")
    queues = list(queues)
    with _broker_client(url).pipeline(transaction=False) as pipe:
        for queue in queues:
            for priority in _KOMBU_PRIORITY_STEPS:
                suffix = f"{_KOMBU_PRIORITY_SEP}{priority}" if priority else ""
                pipe.llen(f"{prefix}{queue}{suffix}")
        sizes = pipe.execute()
    steps = len(_KOMBU_PRIORITY_STEPS)
    return {queue: sum(sizes[index * steps : (index + 1) * steps]) for index, queue in enumerate(queues)}


def queue_families(queues: Iterable[str]) -> list[Metric]:
    depth = GaugeMetricFamily(
        "lectern_celery_queue_length", "Celery messages waiting in the broker.", labels=["queue"]
    )
    for queue, length in queue_lengths(queues).items():
        depth.add_metric([queue], length)
    return [depth]


def circuit_families() -> list[Metric]:
    from ai_core.resilience.runtime import breaker_states

    state = GaugeMetricFamily(
        "lectern_ai_circuit_state",
        "Circuit breaker per provider and model: 0 closed, 1 half-open (probing), 2 open.",
        labels=["provider", "model"],
    )
    openings = CounterMetricFamily(
        "lectern_ai_circuit_openings",
        "Times each circuit has opened (kept in Redis: resets when Redis loses its data).",
        labels=["provider", "model"],
    )
    for breaker in breaker_states():
        provider, _, model = breaker["name"].partition(":")
        state.add_metric([provider, model], CIRCUIT_STATE_VALUES.get(breaker["state"], 2))
        openings.add_metric([provider, model], breaker.get("openings", 0))
    return [state, openings]


class AIMetricsCollector:
    """Collects at scrape time. Each source is independent: a Redis outage still serves the
    database counters, and ``lectern_metrics_source_up`` says which source failed."""

    def __init__(self, *, queues: Callable[[], Iterable[str]] = configured_queues):
        self.sources: dict[str, Callable[[], list[Metric]]] = {
            "database": database_families,
            "broker": lambda: queue_families(queues()),
            "circuits": circuit_families,
        }

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "lectern_metrics_source_up", "1 if the source answered this scrape.", labels=["source"]
        )
        seconds = GaugeMetricFamily(
            "lectern_metrics_source_duration_seconds", "Time spent reading the source.", labels=["source"]
        )
        for name, source in self.sources.items():
            started = time.perf_counter()
            try:
                families = source()
            except Exception:  # noqa: BLE001 - one failing source must not hide the others
                logger.exception("metrics source %s failed", name)
                families = []
                up.add_metric([name], 0)
            else:
                up.add_metric([name], 1)
            seconds.add_metric([name], time.perf_counter() - started)
            yield from families
        yield from (up, seconds)


@functools.cache
def metrics_registry() -> CollectorRegistry:
    """A registry of our own: the default one's process metrics describe whichever web worker
    happened to answer, which means nothing behind a load balancer."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AIMetricsCollector())
    return registry
