"""Carrying out an AI request in the worker: render, call the provider, log usage, store the result.

Called only from the Celery task. Never from an HTTP handler.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from ai_core import providers
from ai_core.context import build_context
from ai_core.locks import advisory_lock
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.prompts.registry import get_prompt
from ai_core.providers.base import GenerationRequest, Message, Usage
from ai_core.providers.errors import ProviderError, ProviderRateLimited
from ai_core.routing import route_model
from ai_core.services.usage import usage_log_record

logger = logging.getLogger(__name__)

USER_SAFE_ERRORS = {
    "timeout": "The AI service took too long to answer. Please try again.",
    "rate_limited": "The AI service is busy right now. Please try again in a minute.",
    "overloaded": "The AI service is busy right now. Please try again in a minute.",
    "unavailable": "The AI service is unavailable right now. Please try again later.",
    "bad_request": "This request could not be processed.",
    "internal": "Something went wrong while answering. The team has been notified.",
}


class RetryableFailure(Exception):
    def __init__(self, error: ProviderError):
        super().__init__(str(error))
        self.error = error
        self.retry_after = error.retry_after if isinstance(error, ProviderRateLimited) else None


@dataclass(kw_only=True)
class ProcessOutcome:
    status: str
    skipped: bool = False


def _mark(request: AIRequest, **fields) -> None:
    for name, value in fields.items():
        setattr(request, name, value)
    request.save(update_fields=[*fields, "updated_at"])


def ai_request_fail(*, request_id: str, code: str, detail: str = "") -> None:
    """End a request as FAILED with a message safe to show; the row and its history stay."""
    with transaction.atomic():
        request = AIRequest.objects.select_for_update().get(pk=request_id)
        if request.is_terminal:
            return
        _mark(
            request,
            status=AIRequest.Status.FAILED,
            error=USER_SAFE_ERRORS.get(code, USER_SAFE_ERRORS["internal"]),
            error_code=code,
            finished_at=timezone.now(),
        )
    logger.warning("ai_request failed id=%s code=%s detail=%s", request_id, code, detail)


def ai_request_process(*, request_id: str, attempt: int = 1) -> ProcessOutcome:
    with advisory_lock(f"ai_request:{request_id}") as acquired:
        if not acquired:
            logger.info("ai_request id=%s is being processed by another worker; skipping", request_id)
            return ProcessOutcome(status="locked", skipped=True)
        request = AIRequest.objects.get(pk=request_id)
        if request.is_terminal or request.status == AIRequest.Status.AWAITING_REVIEW:
            # A redelivered message for finished work: do nothing, log nothing.
            return ProcessOutcome(status=request.status, skipped=True)
        _mark(
            request,
            status=AIRequest.Status.PROCESSING,
            started_at=request.started_at or timezone.now(),
            attempts=request.attempts + 1,
        )
        return _generate(request, attempt=attempt)


def _generate(request: AIRequest, *, attempt: int) -> ProcessOutcome:
    spec = get_prompt(request.prompt_key)
    if spec.version != request.prompt_version:
        # The request records the version it was accepted under; a newer live version must not
        # silently answer it under the old label.
        logger.info(
            "prompt %s moved from v%s to v%s since submit", spec.key, request.prompt_version, spec.version
        )
    context = build_context(request=request, spec=spec)
    rendered = spec.render({**request.payload, **context.values})
    provider = providers.generation_provider()
    model = route_model(spec, provider_alias=provider.alias)
    generation = GenerationRequest(
        model=model,
        system=rendered.system,
        messages=[Message(role="user", content=rendered.user)],
        max_tokens=spec.max_tokens,
        temperature=spec.temperature,
        sources=context.sources,
        task=spec.task,
        labels=spec.labels,
        cache_system=True,
        cache_context=bool(context.sources),
        metadata={"request_id": str(request.id), **{k: str(v) for k, v in request.payload.items()}},
    )
    started = time.monotonic()
    try:
        result = provider.generate(generation)
    except ProviderError as err:
        usage_log_record(
            request=request,
            operation=LLMUsageLog.Operation.GENERATION,
            prompt_key=spec.key,
            prompt_version=request.prompt_version,
            provider=provider.alias,
            model=model,
            usage=Usage(),
            latency_ms=int((time.monotonic() - started) * 1000),
            outcome=LLMUsageLog.Outcome.ERROR,
            error_code=err.code,
            attempt=attempt,
        )
        if err.retryable:
            raise RetryableFailure(err) from err
        ai_request_fail(request_id=str(request.id), code="bad_request", detail=str(err))
        return ProcessOutcome(status=AIRequest.Status.FAILED)
    with transaction.atomic():
        usage_log_record(
            request=request,
            operation=LLMUsageLog.Operation.GENERATION,
            prompt_key=spec.key,
            prompt_version=request.prompt_version,
            provider=result.provider,
            model=result.model,
            usage=result.usage,
            latency_ms=result.latency_ms or int((time.monotonic() - started) * 1000),
            attempt=attempt,
        )
        citations = [
            {"number": s.number, "chunk_id": s.chunk_id, "title": s.title, "url": s.url}
            for s in context.sources
        ]
        _mark(
            request,
            status=AIRequest.Status.DONE,
            result=result.text,
            provider=result.provider,
            model_used=result.model,
            citations=citations,
            cited_chunk_ids=[s.chunk_id for s in context.sources],
            error="",
            error_code="",
            finished_at=timezone.now(),
        )
    return ProcessOutcome(status=AIRequest.Status.DONE)
