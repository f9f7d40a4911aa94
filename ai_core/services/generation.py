"""Calling models through a fallback chain guarded by per-model circuit breakers.

Every attempt, including a link skipped because its circuit is open, leaves a usage row, so the
dashboard can show fallbacks taken and the cost of failures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import redis
from celery.exceptions import SoftTimeLimitExceeded

from ai_core import conf, providers
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.pricing import estimate_tokens
from ai_core.prompts.render import RenderedPrompt
from ai_core.prompts.spec import PromptSpec
from ai_core.providers.base import GenerationRequest, GenerationResult, Message, Source, Usage
from ai_core.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderStreamInterrupted,
    ProviderTimeout,
)
from ai_core.resilience.breaker import CircuitOpenError, Permit
from ai_core.resilience.runtime import breaker_for
from ai_core.routing import CHEAPER_TIER, route_model
from ai_core.services.kept_answers import answer_keep
from ai_core.services.usage import usage_log_record

__all__: list[str] = []

logger = logging.getLogger(__name__)
MIN_CALL_S = 0.5


@dataclass(kw_only=True, frozen=True)
class ChainLink:
    provider: str
    tier: str


class GenerationCancelled(Exception):
    """The person who asked pressed Stop; ``result`` holds what was generated until then."""

    def __init__(self, result: GenerationResult):
        super().__init__("cancelled")
        self.result = result


@dataclass(kw_only=True)
class StreamSink:
    """Where streamed text goes, and how the caller says stop. The default ignores both."""

    on_delta: Callable[[str], None] = lambda text: None
    on_reset: Callable[[], None] = lambda: None
    should_stop: Callable[[], bool] = lambda: False


class AllProvidersFailed(Exception):
    def __init__(self, errors: list[ProviderError | CircuitOpenError]):
        super().__init__("; ".join(str(error) for error in errors) or "no provider configured")
        self.errors = errors
        self.retryable = any(isinstance(e, CircuitOpenError) or e.retryable for e in errors)
        self.timed_out = bool(errors) and all(getattr(e, "code", "") == "timeout" for e in errors)


def fallback_chain(spec: PromptSpec, *, downgraded: bool = False) -> list[ChainLink]:
    """primary tier -> primary's cheaper tier -> other remote providers -> the offline local provider."""
    tier = spec.tier or "medium"
    if downgraded:
        tier = CHEAPER_TIER[tier]
    explicit = conf.setting("FALLBACK_CHAINS").get(tier)
    if explicit:
        return [ChainLink(provider=link["provider"], tier=link.get("tier", tier)) for link in explicit]
    configured = list(conf.provider_configs())
    primary = conf.default_generation_alias()
    links = [ChainLink(provider=primary, tier=tier)]
    if CHEAPER_TIER[tier] != tier:
        links.append(ChainLink(provider=primary, tier=CHEAPER_TIER[tier]))
    links += [ChainLink(provider=alias, tier=tier) for alias in configured if alias not in (primary, "local")]
    if conf.setting("FALLBACK_TO_LOCAL") and primary != "local" and "local" in configured:
        links.append(ChainLink(provider="local", tier=tier))
    return links


def generation_request_for(
    spec: PromptSpec,
    rendered: RenderedPrompt,
    *,
    model: str,
    sources: Sequence[Source],
    metadata: Mapping[str, str],
) -> GenerationRequest:
    """The provider call a prompt asks for: one place, so a visitor's request and a golden run
    send the model the same thing for the same spec."""
    return GenerationRequest(
        model=model,
        system=rendered.system,
        messages=[Message(role="user", content=rendered.user)],
        max_tokens=spec.max_tokens,
        temperature=spec.temperature,
        sources=sources,
        task=spec.task,
        labels=spec.labels,
        metadata=metadata,
    )


def with_prompt_caching(generation: GenerationRequest, *, model: str, user_text: str) -> GenerationRequest:
    """Mark cache breakpoints only where the prefix reaches the model's minimum cacheable length."""
    minimums = conf.setting("PROMPT_CACHE_MIN_TOKENS")
    minimum = minimums.get(model, minimums["default"])
    system_tokens = estimate_tokens(generation.system)
    return replace(
        generation,
        cache_system=system_tokens >= minimum,
        cache_context=bool(generation.sources) and system_tokens + estimate_tokens(user_text) >= minimum,
    )


def generation_call_log(request: AIRequest, spec: PromptSpec, *, attempt: int, **fields) -> None:
    """The usage row of one generation for ``request`` (a provider call, or an answer served
    without one: ``outcome`` says which), tagged with its prompt, version and attempt."""
    usage_log_record(
        request=request,
        operation=LLMUsageLog.Operation.GENERATION,
        prompt_key=spec.key,
        prompt_version=request.prompt_version,
        attempt=attempt,
        **fields,
    )


def _estimated_usage(generation: GenerationRequest, text: str) -> Usage:
    """What a call that ended early (Stop, the task's time limit) is charged: the prompt, plus the
    output so far. The provider reports no usage for a stream that was closed."""
    return Usage(
        input_tokens=estimate_tokens(generation.system + generation.messages[-1].content),
        output_tokens=estimate_tokens(text) + 1,
    )


def _stream_into(
    provider, generation: GenerationRequest, sink: StreamSink, *, started: float, parts: list[str]
) -> GenerationResult:
    """Consume the provider's stream, forwarding deltas (also into ``parts``, so a caller whose
    call is cut short knows what was produced); stop reading as soon as Stop is pressed.

    Closing the generator closes the HTTP stream, so the provider stops generating too.
    """
    events = provider.stream(generation)
    try:
        for event in events:
            if event.kind == "delta":
                if sink.should_stop():
                    text = "".join(parts)
                    usage = _estimated_usage(generation, text)
                    raise GenerationCancelled(
                        GenerationResult(text=text, provider=provider.alias, model=generation.model, usage=usage,
                                         stop_reason="cancelled", latency_ms=int((time.monotonic() - started) * 1000))
                    )  # fmt: skip
                parts.append(event.text)
                sink.on_delta(event.text)
            elif event.kind == "done" and event.result is not None:
                return event.result
    except ProviderError:
        if parts:
            sink.on_reset()  # the next link starts the answer again
        raise
    finally:
        events.close()
    raise ProviderStreamInterrupted("stream ended without a result", partial_text="".join(parts))


def _soft_time_limit_in(error: BaseException) -> SoftTimeLimitExceeded | None:
    """SDKs wrap any exception raised during a call (Celery's soft limit included) in their own
    connection error; find it so the deadline is honoured instead of trying the next link."""
    seen = error
    while seen is not None:
        if isinstance(seen, SoftTimeLimitExceeded):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def generate_with_fallbacks(
    *,
    request: AIRequest,
    spec: PromptSpec,
    base: GenerationRequest,
    attempt: int,
    downgraded: bool = False,
    deadline: float | None = None,
    sink: StreamSink | None = None,
) -> GenerationResult:
    """Try each link of the chain until one answers. ``deadline`` (time.monotonic) bounds the
    whole chain: each call gets only the time that is left, and no new link starts after it."""
    errors: list[ProviderError | CircuitOpenError] = []
    configured = conf.provider_configs()
    for link in fallback_chain(spec, downgraded=downgraded):
        if link.provider not in configured:
            continue
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining < MIN_CALL_S:
            errors.append(ProviderTimeout("no time left before the task deadline", provider=link.provider))
            break
        provider = providers.generation_provider(link.provider)
        model = route_model(spec, provider_alias=link.provider, tier=link.tier)
        breaker = breaker_for(link.provider, model)
        try:
            permit = breaker.allow()
        except CircuitOpenError as err:
            # Fail fast: no time is spent waiting on a provider that is known to be down.
            generation_call_log(request, spec, attempt=attempt, provider=link.provider, model=model, usage=Usage(), latency_ms=0,
                 outcome=LLMUsageLog.Outcome.ERROR, error_code="circuit_open")  # fmt: skip
            errors.append(err)
            continue
        generation = with_prompt_caching(
            replace(base, model=model, timeout_s=remaining), model=model, user_text=base.messages[-1].content
        )
        started = time.monotonic()
        parts: list[str] = []
        try:
            result = _stream_into(provider, generation, sink or StreamSink(), started=started, parts=parts)
        except GenerationCancelled as cancelled:
            generation_call_log(request, spec, attempt=attempt, provider=cancelled.result.provider, model=cancelled.result.model,
                 usage=cancelled.result.usage, latency_ms=int((time.monotonic() - started) * 1000))  # fmt: skip
            _record(permit, succeeded=True)
            raise
        except (ProviderError, SoftTimeLimitExceeded) as err:
            if (soft_limit := _soft_time_limit_in(err)) is not None:
                # The task's deadline, mid-call: the call still cost what it used so far.
                generation_call_log(request, spec, attempt=attempt, provider=link.provider, model=model,
                     usage=_estimated_usage(generation, "".join(parts)),
                     latency_ms=int((time.monotonic() - started) * 1000), outcome=LLMUsageLog.Outcome.ERROR,
                     error_code="timeout")  # fmt: skip
                if soft_limit is err:
                    raise
                raise soft_limit from err
            generation_call_log(request, spec, attempt=attempt, provider=link.provider, model=model, usage=Usage(),
                 latency_ms=int((time.monotonic() - started) * 1000), outcome=LLMUsageLog.Outcome.ERROR,
                 error_code=err.code)  # fmt: skip
            if err.retryable or isinstance(err, ProviderAuthError):
                _record(permit, succeeded=False)
            logger.warning("provider %s/%s failed for %s: %s", link.provider, model, request.pk, err.code)
            errors.append(err)
            if not (err.retryable or isinstance(err, ProviderAuthError)):
                break  # a bad request fails the same way everywhere
            continue
        result.latency_ms = result.latency_ms or int((time.monotonic() - started) * 1000)
        # Paid for: kept until the request is stored, so a retry after a database error stores
        # this answer instead of asking again (``kept_answers``).
        answer_keep(request_id=request.pk, attempt=attempt, result=result)
        generation_call_log(request, spec, attempt=attempt, provider=result.provider, model=result.model, usage=result.usage,
             latency_ms=result.latency_ms)  # fmt: skip
        _record(permit, succeeded=True)
        return result
    raise AllProvidersFailed(errors)


def _record(permit: Permit, *, succeeded: bool) -> None:
    """Tell the circuit breaker how the call went. The call's usage row is written first: should
    Redis (the breakers' state) be gone by now, the call, paid for, still counts, and its answer is
    still used; the breaker only misses one observation."""
    try:
        permit.success() if succeeded else permit.failure()
    except redis.RedisError as err:
        outcome = "success" if succeeded else "failure"
        logger.warning(
            "circuit %s: %s not recorded (Redis unavailable): %s", permit.breaker.name, outcome, err
        )
