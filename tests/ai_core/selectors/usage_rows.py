"""Usage rows, requests, votes and review items dated on chosen days, for dashboard tests.

``created_at`` is ``auto_now_add``, so dates are set with an UPDATE after the insert, as a
backfill would.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from ai_core.models import AIFeedback, AIRequest, LLMUsageLog

DAY = dt.date(2025, 3, 10)  # a Monday


def at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def ai_request(
    *, day: dt.date = DAY, prompt_key: str = "rag_answer", user=None, page_id=None, **fields
) -> AIRequest:
    fields.setdefault("status", AIRequest.Status.DONE)
    request = AIRequest.objects.create(
        prompt_key=prompt_key,
        prompt_version=fields.pop("prompt_version", 1),
        user=user,
        page_id=page_id,
        **fields,
    )
    AIRequest.objects.filter(pk=request.pk).update(created_at=at(day))
    return request


def usage_row(
    *,
    day: dt.date = DAY,
    hour: int = 12,
    cost: str = "0",
    request: AIRequest | None = None,
    prompt_key: str | None = None,
    **fields,
) -> LLMUsageLog:
    fields.setdefault("provider", "anthropic")
    fields.setdefault("model", "claude-sonnet-4-6")
    fields.setdefault(
        "operation", LLMUsageLog.Operation.GENERATION if request else LLMUsageLog.Operation.EMBEDDING
    )
    row = LLMUsageLog.objects.create(
        request=request,
        prompt_key=prompt_key if prompt_key is not None else (request.prompt_key if request else ""),
        prompt_version=request.prompt_version if request else None,
        cost_usd=Decimal(cost),
        **fields,
    )
    LLMUsageLog.objects.filter(pk=row.pk).update(created_at=at(day, hour))
    return row


def vote(*, request: AIRequest, up: bool, day: dt.date = DAY, session: str) -> AIFeedback:
    feedback = AIFeedback.objects.create(
        request=request,
        session_key=session,
        vote=AIFeedback.Vote.UP if up else AIFeedback.Vote.DOWN,
        prompt_key=request.prompt_key,
        prompt_version=request.prompt_version,
    )
    AIFeedback.objects.filter(pk=feedback.pk).update(created_at=at(day), updated_at=at(day))
    return feedback
