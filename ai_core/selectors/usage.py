"""Reads over the usage log, aggregated in the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from ai_core.models import LLMUsageLog
from ai_core.pricing import cost_usd
from ai_core.providers.base import Usage

__all__ = ["cache_hit_rates", "embedding_cost_estimate"]


def embedding_cost_estimate(*, model: str, tokens: int) -> Decimal:
    """What embedding ``tokens`` input tokens with ``model`` costs at today's prices (``reindex --dry-run``)."""
    return cost_usd(model=model, usage=Usage(input_tokens=tokens))


def cache_hit_rates(*, since: dt.datetime | None = None, until: dt.datetime | None = None) -> dict:
    """Prompt-cache hit rate (cached input tokens / all input tokens, Anthropic's sense) and the
    share of generations answered by the response cache, over the usage log from ``since`` up to
    (not including) ``until``."""
    since = since or timezone.now() - dt.timedelta(days=7)
    logs = LLMUsageLog.objects.filter(created_at__gte=since, operation=LLMUsageLog.Operation.GENERATION)
    if until is not None:
        logs = logs.filter(created_at__lt=until)
    totals = logs.aggregate(
        read=Sum("cache_read_tokens"),
        written=Sum("cache_write_tokens"),
        uncached=Sum("input_tokens"),
        answered=Count("id", filter=Q(outcome__in=[LLMUsageLog.Outcome.OK, LLMUsageLog.Outcome.CACHE_HIT])),
        cache_hits=Count("id", filter=Q(outcome=LLMUsageLog.Outcome.CACHE_HIT)),
    )
    read, written, uncached = (totals[k] or 0 for k in ("read", "written", "uncached"))
    all_input = read + written + uncached
    return {
        "since": since,
        "prompt_cache_hit_rate": (read / all_input) if all_input else None,
        "prompt_cache_read_tokens": read,
        "prompt_cache_write_tokens": written,
        "response_cache_hit_rate": (totals["cache_hits"] / totals["answered"])
        if totals["answered"]
        else None,
        "response_cache_hits": totals["cache_hits"],
    }
