"""Usage logging: one row per provider call, costed at write time."""

from __future__ import annotations

from ai_core.models import AIRequest, LLMUsageLog
from ai_core.pricing import cost_usd
from ai_core.providers.base import Usage

__all__: list[str] = []


def usage_log_record(
    *,
    operation: str,
    provider: str,
    model: str,
    usage: Usage,
    latency_ms: int,
    request: AIRequest | None = None,
    prompt_key: str = "",
    prompt_version: int | None = None,
    outcome: str = LLMUsageLog.Outcome.OK,
    error_code: str = "",
    attempt: int = 1,
    subject_type: str = "",
    subject_id: str = "",
) -> LLMUsageLog:
    return LLMUsageLog.objects.create(
        request=request,
        operation=operation,
        prompt_key=prompt_key,
        prompt_version=prompt_version,
        provider=provider,
        model=model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        latency_ms=latency_ms,
        cost_usd=cost_usd(model=model, usage=usage),
        outcome=outcome,
        error_code=error_code,
        attempt=attempt,
        subject_type=subject_type,
        subject_id=str(subject_id),
    )
