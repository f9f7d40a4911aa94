"""Carrying out an AI request in the worker: render, answer from cache or a provider chain, log
usage, settle the budget, store the result.

Called only from the Celery task. Never from an HTTP handler.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis
from django.db import DatabaseError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from ai_core.budgets.services import budget_settle
from ai_core.context import build_context
from ai_core.gate import GateDecision, GatedStream, gate_output, stream_gate, streams_to_visitor
from ai_core.locks import advisory_lock
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.prompts.registry import get_prompt
from ai_core.providers.base import GenerationResult, Usage
from ai_core.providers.errors import ProviderRateLimited
from ai_core.resilience.runtime import shared_redis
from ai_core.response_cache import CachedResponse, cache_key, response_cache_get, response_cache_put
from ai_core.reuse import ReusedAnswer, reusable_answer
from ai_core.selectors.visibility import STOPPED
from ai_core.services.generation import (
    AllProvidersFailed,
    GenerationCancelled,
    StreamSink,
    generate_with_fallbacks,
    generation_call_log,
    generation_request_for,
)
from ai_core.services.kept_answers import KeptAnswer, answer_kept, answer_kept_drop
from ai_core.services.review_outcome import done_event_publish
from ai_core.signals import request_flagged
from ai_core.streams import cancel_request_stream, is_cancelled, stream_key, stream_publish

__all__ = ["ai_request_cancel"]

logger = logging.getLogger(__name__)

USER_SAFE_ERRORS = {
    "timeout": "The AI service took too long to answer. Please try again.",
    "unavailable": "The AI service is busy or unavailable right now. Please try again in a few minutes.",
    "bad_request": "This request could not be processed.",
    "internal": "Something went wrong while answering. The team has been notified.",
    "expired": "This question was not answered in time. Please ask it again.",
}


class RetryableFailure(Exception):
    def __init__(self, failure: AllProvidersFailed):
        super().__init__(str(failure))
        self.failure = failure
        self.code = "timeout" if failure.timed_out else "unavailable"
        hints = [
            e.retry_after for e in failure.errors if isinstance(e, ProviderRateLimited) and e.retry_after
        ]
        self.retry_after = min(hints) if hints else None


# Another database session holds the request's lock and the request is still open: usually a
# worker still on it, but it may be a dead worker's session that PostgreSQL has not ended yet.
LOCKED = "locked"
# A request a worker may still claim.
_OPEN = (AIRequest.Status.PENDING, AIRequest.Status.PROCESSING)


@dataclass(kw_only=True)
class ProcessOutcome:
    status: str
    skipped: bool = False
    from_cache: bool = False


def _mark(request: AIRequest, **fields) -> None:
    for name, value in fields.items():
        setattr(request, name, value)
    request.save(update_fields=[*fields, "updated_at"])


def _settle(request: AIRequest) -> None:
    """Settle the budget inside the transaction that ends the request, so nobody ever sees a
    finished request whose reservation is still open, and a worker killed before the commit leaves
    neither. Should Redis (the budget counters) fail, only the settlement rolls back (a savepoint):
    the request still ends, and the recovery sweep settles the reservation once Redis is back."""
    try:
        with transaction.atomic():
            budget_settle(request_id=request.pk)
    except redis.RedisError:
        logger.warning("budget of ai_request %s not settled (Redis unavailable); the sweep will", request.pk)


def ai_request_fail(*, request_id: str, code: str, detail: str = "") -> None:
    """End a request as FAILED with a message safe to show; the row and its history stay, and the
    budget is charged only what was actually spent."""
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
        _settle(request)
    try:
        stream_publish(request_id, "error", {"status": AIRequest.Status.FAILED, "message": request.error})
    except redis.RedisError:
        # Often the very reason the request failed; the poll API and the result page read the row.
        logger.warning("could not publish the failure of ai_request %s (Redis unavailable)", request_id)
    logger.warning("ai_request failed id=%s code=%s detail=%s", request_id, code, detail)


def ai_request_cancel(*, request: AIRequest) -> AIRequest:
    """Stop a request for the person who asked. Queued: cancelled at once. Generating: the worker
    sees the flag at its next token, keeps the partial answer and charges only what was generated.

    The flag is in Redis and on the row: with Redis down, a queued request is still cancelled
    (the row is all it needs; the budget is settled by the sweep), and a generating worker, whose
    stream is lost then, reads the row instead (``_StreamPublisher.cancelled``)."""
    try:
        cancel_request_stream(request.pk)
    except redis.RedisError as err:
        logger.warning("Stop of ai_request %s kept on its row only (Redis unavailable: %s)", request.pk, err)
    with transaction.atomic():
        locked = AIRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status == AIRequest.Status.PROCESSING and locked.stop_requested_at is None:
            locked.stop_requested_at = timezone.now()
            locked.save(update_fields=["stop_requested_at", "updated_at"])
        if locked.status != AIRequest.Status.PENDING:
            return locked
        _cancel_unanswered(locked)
    _publish_stopped(locked)
    return locked


def _cancel_unanswered(request: AIRequest) -> None:
    """End a request that has no text as Stopped (inside the caller's transaction, row locked):
    the budget is charged what earlier attempts used, if anything."""
    _mark(request, status=AIRequest.Status.CANCELLED, error_code=STOPPED, finished_at=timezone.now())
    _settle(request)


def _publish_stopped(request: AIRequest) -> None:
    try:
        done_event_publish(request=request)
    except redis.RedisError as err:
        # The page's relay falls back to the row, and the poll API reads it.
        logger.warning("could not publish the Stop of ai_request %s (Redis unavailable): %s", request.pk, err)


def ai_request_process(
    *, request_id: str, attempt: int = 1, final_attempt: bool = True, deadline: float | None = None
) -> ProcessOutcome:
    with advisory_lock(f"ai_request:{request_id}") as acquired:
        if not acquired:
            # The holder is a session, not a process: a worker killed in the middle of a statement
            # (a slow INSERT, a lock wait) leaves its session running that statement, lock held,
            # until the statement ends, and a lost host's session lives until PostgreSQL's
            # keepalives notice. So an open request is ``LOCKED`` (the task tries again shortly) and
            # a finished one is simply skipped.
            status = AIRequest.objects.values_list("status", flat=True).get(pk=request_id)
            logger.info("ai_request id=%s is held by another database session (%s)", request_id, status)
            return ProcessOutcome(status=LOCKED if status in _OPEN else status, skipped=True)
        # Claim the request only if it is still open: a conditional UPDATE, so a Stop pressed while
        # the message was queued (or a redelivery of finished work) can never be overwritten.
        claimed = AIRequest.objects.filter(pk=request_id, status__in=_OPEN).update(
            status=AIRequest.Status.PROCESSING,
            started_at=Coalesce("started_at", Now()),
            attempts=F("attempts") + 1,
            updated_at=Now(),
        )
        request = AIRequest.objects.select_related("budget_reservation").get(pk=request_id)
        if not claimed:
            # Finished, cancelled or awaiting review already: do nothing, log nothing.
            return ProcessOutcome(status=request.status, skipped=True)
        return _generate(request, attempt=attempt, final_attempt=final_attempt, deadline=deadline)


def _finish(
    request: AIRequest,
    *,
    text: str,
    provider: str,
    model: str,
    citations: list,
    chunk_ids: list,
    status: str = AIRequest.Status.DONE,
    error_code: str = "",
) -> None:
    _mark(
        request,
        status=status,
        result=text,
        provider=provider,
        model_used=model,
        citations=citations,
        cited_chunk_ids=chunk_ids,
        error="",
        error_code=error_code,
        finished_at=timezone.now(),
    )


def _publish_final(request: AIRequest, spec) -> None:
    """End the stream. A held output's stream is emptied first (XTRIM keeps the stream's last id,
    so a resuming client still gets what follows), so a page that connects or reconnects later
    never replays sentences sent before the hold; a streaming page is told to drop its text.

    The request is stored by now. Without Redis the stream cannot be ended: the page's relay and the
    poll API answer from the row, and the relay never replays a held request's stream (see
    ``ai_core.api.stream``), trimmed or not."""
    try:
        if request.status == AIRequest.Status.AWAITING_REVIEW:
            shared_redis().xtrim(stream_key(request.pk), maxlen=0)
            if streams_to_visitor(spec):
                stream_publish(request.pk, "reset")
        done_event_publish(request=request)
    except redis.RedisError as err:
        logger.warning("could not end the stream of ai_request %s (Redis unavailable): %s", request.pk, err)


class _StreamPublisher:
    """The answer's stream, published as the provider writes. From its first token the answer is
    paid for, so losing Redis (the stream, the Stop flag) must not lose the answer: the first Redis
    error ends publishing for the rest of this answer (each later attempt could wait out a
    timeout), generation goes on, and the stored answer reaches the page through the relay's
    fallback to the row or the poll API. Stop is read from Redis at every token and from the row
    (``stop_requested_at``) at most once a second, so a Stop that only the row holds (Redis was
    down for the web process that took it, or is down here) still ends the answer."""

    ROW_CHECK_EVERY_S = 1.0

    def __init__(self, request_id) -> None:
        self.request_id = request_id
        self.lost = False
        self.row_lost = False
        self._row_checked_at = 0.0

    def publish(self, event: str, data: dict | None = None) -> None:
        if self.lost:
            return
        try:
            stream_publish(self.request_id, event, data)
        except redis.RedisError as err:
            self._lose(err)

    def cancelled(self) -> bool:
        if not self.lost:
            try:
                if is_cancelled(self.request_id):
                    return True
            except redis.RedisError as err:
                self._lose(err)
        # The row too, even with Redis up here: the web process that took the Stop may have been
        # the one cut off from Redis (another host, a blip), and then only the row has the flag.
        now = time.monotonic()
        if self.row_lost or now - self._row_checked_at < self.ROW_CHECK_EVERY_S:
            return False
        self._row_checked_at = now
        try:
            return self._row_says_stop()
        except DatabaseError as err:
            # PostgreSQL is away. The answer under way is paid for: generate on, so that it is kept
            # (in Redis) for the write after it, which retries, instead of being cut off and asked for
            # again. Not read again for this answer: an unreachable server could make each read
            # wait out the connection's timeout.
            self.row_lost = True
            logger.warning("could not read the Stop of ai_request %s from its row: %s", self.request_id, err)
            return False

    def _row_says_stop(self) -> bool:
        return AIRequest.objects.filter(pk=self.request_id, stop_requested_at__isnull=False).exists()

    def _lose(self, err: Exception) -> None:
        self.lost = True
        self._row_checked_at = 0.0  # the row is now the only place a Stop can be seen: read it next
        logger.warning(
            "answer stream of ai_request %s lost (Redis unavailable: %s); generating on, the answer "
            "is stored for the poll API", self.request_id, err,
        )  # fmt: skip


def _stream_sink(request: AIRequest, spec, sources=()) -> tuple[StreamSink, GatedStream | None]:
    stream = _StreamPublisher(request.pk)
    if not streams_to_visitor(spec):
        # None of the text is streamed; one text-free "progress" event tells the page that the
        # answer is being written (and that Stop now keeps a partial answer for review).
        started: list[bool] = []

        def progress(_text: str) -> None:
            if not started:
                started.append(True)
                stream.publish("progress")

        return StreamSink(on_delta=progress, should_stop=stream.cancelled), None
    sink = StreamSink(
        on_delta=lambda text: stream.publish("delta", {"text": text}),
        on_reset=lambda: stream.publish("reset"),
        should_stop=stream.cancelled,
    )
    check = stream_gate(spec)
    if check is None:
        return sink, None
    # Sentence by sentence, each pre-checked, so text the gate would hold never reaches the visitor.
    gated = GatedStream(check=check, sources=sources, publish=sink.on_delta, reset=sink.on_reset)
    sink.on_delta, sink.on_reset = gated.feed, gated.restart
    return sink, gated


def _complete(
    request: AIRequest,
    spec,
    *,
    text: str,
    provider: str,
    model: str,
    sources,
    gated: GatedStream | None = None,
) -> str:
    """Store a finished output, gated: flagged outputs wait for a reviewer instead of going live."""
    citations = [
        {"number": s.number, "chunk_id": s.chunk_id, "title": s.title, "url": s.url} for s in sources
    ]
    decision = gate_output(request=request, spec=spec, text=text, sources=sources)
    status = AIRequest.Status.AWAITING_REVIEW if decision.needs_review else AIRequest.Status.DONE
    with transaction.atomic():
        _finish(request, text=text, provider=provider, model=model, citations=citations,
                chunk_ids=[s.chunk_id for s in sources], status=status)  # fmt: skip
        if decision.needs_review:
            request_flagged.send(sender=AIRequest, request=request, reasons=decision.reasons)
        _settle(request)
    if gated is not None and status == AIRequest.Status.DONE:
        gated.flush()  # the unpublished rest of the answer, now that the final gate let it through
    _publish_final(request, spec)
    return status


def _stop(request: AIRequest, spec, *, partial: GenerationResult, sources, gated: GatedStream | None) -> str:
    """Stop pressed mid-answer. The partial answer is an output like any other: it passes the
    output gate for its prompt's policy, so an "always" partial waits in the review queue and an
    "on_flag" one is held when a rule flags it, exactly as a finished answer would be. An empty
    partial has nothing to show or review. Approved, it is shown as stopped (``STOPPED``)."""
    text = partial.text if partial.text.strip() else ""
    citations = [
        {"number": s.number, "chunk_id": s.chunk_id, "title": s.title, "url": s.url} for s in sources
    ]
    decision = gate_output(request=request, spec=spec, text=text, sources=sources) if text else GateDecision()
    status = AIRequest.Status.AWAITING_REVIEW if decision.needs_review else AIRequest.Status.CANCELLED
    with transaction.atomic():
        _finish(request, text=text, provider=partial.provider, model=partial.model, citations=citations,
                chunk_ids=[s.chunk_id for s in sources], status=status, error_code=STOPPED)  # fmt: skip
        if decision.needs_review:
            request_flagged.send(sender=AIRequest, request=request, reasons=decision.reasons)
        _settle(request)
    if gated is not None and status == AIRequest.Status.CANCELLED:
        gated.flush()  # the checked partial in full, as the done event shows it
    _publish_final(request, spec)
    return status


def _serve_cached(
    request: AIRequest, spec, cached: CachedResponse, *, attempt: int, sources
) -> ProcessOutcome:
    generation_call_log(request, spec, attempt=attempt, provider=cached.provider, model=cached.model,
                        usage=Usage(), latency_ms=0, outcome=LLMUsageLog.Outcome.CACHE_HIT)  # fmt: skip
    sink, gated = _stream_sink(request, spec, sources)
    sink.on_delta(cached.text)
    status = _complete(
        request, spec, text=cached.text, provider=cached.provider, model=cached.model, sources=sources,
        gated=gated,
    )  # fmt: skip
    return ProcessOutcome(status=status, from_cache=True)


class _ReuseWithdrawn(Exception):
    """The approved answer was retired between the lookup and now: roll back, generate instead."""


def _serve_approved(request: AIRequest, spec, reused: ReusedAnswer, *, attempt: int) -> ProcessOutcome | None:
    """Answer with a reviewer-approved answer whose sources still stand: no provider call, no
    gate (a reviewer approved this very text), zero tokens. The whole text arrives in the final
    event, sent once the request is stored, as for an approval. None when the answer was retired
    meanwhile: nothing was written, and the caller generates as usual."""
    try:
        with transaction.atomic():
            if not reused.record_use(request=request, attempt=attempt):
                raise _ReuseWithdrawn
            _finish(request, text=reused.text, provider="approved_answer", model="", citations=reused.citations,
                    chunk_ids=[c["chunk_id"] for c in reused.citations])  # fmt: skip
            _mark(request, approved_answer_id=reused.answer_id)
            _settle(request)
    except _ReuseWithdrawn:
        logger.info("approved answer %s was retired during the lookup; generating", reused.answer_id)
        return None
    _publish_final(request, spec)
    logger.info("ai_request %s answered with approved answer %s", request.pk, reused.answer_id)
    return ProcessOutcome(status=AIRequest.Status.DONE)


def _serve_kept(request: AIRequest, spec, kept: KeptAnswer) -> ProcessOutcome:
    """An earlier attempt's answer, paid for but not stored (the database failed after the
    call): stored now, through the same gate, and its call logged once, with that attempt's number.
    The page is told to drop what it was shown of the earlier attempt and gets the whole text."""
    result = kept.result
    context = build_context(request=request, spec=spec)
    logged = LLMUsageLog.objects.filter(
        request=request, operation=LLMUsageLog.Operation.GENERATION, outcome=LLMUsageLog.Outcome.OK,
        attempt=kept.attempt, provider=result.provider, model=result.model,
    ).exists()  # fmt: skip
    if not logged:
        generation_call_log(request, spec, attempt=kept.attempt, provider=result.provider, model=result.model,
                            usage=result.usage, latency_ms=result.latency_ms)  # fmt: skip
    logger.info("ai_request %s: storing the answer of attempt %s, not asking again", request.pk, kept.attempt)
    sink, gated = _stream_sink(request, spec, context.sources)
    sink.on_reset()
    sink.on_delta(result.text)
    status = _complete(
        request, spec, text=result.text, provider=result.provider, model=result.model,
        sources=context.sources, gated=gated,
    )  # fmt: skip
    answer_kept_drop(request_id=request.pk)
    return ProcessOutcome(status=status)


def _generate(
    request: AIRequest, *, attempt: int, final_attempt: bool, deadline: float | None
) -> ProcessOutcome:
    spec = get_prompt(request.prompt_key)
    if spec.version != request.prompt_version:
        # A publish landed between submit and now: record the version that actually answers.
        _mark(request, prompt_version=spec.version)
    # Only a request claimed before (a retry, a redelivery) can have a kept answer: the first
    # claim of every request skips the Redis read.
    kept = answer_kept(request_id=request.pk) if request.attempts > 1 else None
    if kept is not None:
        return _serve_kept(request, spec, kept)  # paid for already: stored even if Stop came since
    if request.stop_requested_at is not None:
        # Stop was pressed while no worker was generating (a retry's wait, a redelivery after a
        # lost worker): end it as the visitor asked, without a new provider call.
        with transaction.atomic():
            stopped = AIRequest.objects.select_for_update().get(pk=request.pk)
            _cancel_unanswered(stopped)
        _publish_stopped(stopped)
        return ProcessOutcome(status=stopped.status)
    reused = reusable_answer(request=request, spec=spec)
    if reused is not None and (served := _serve_approved(request, spec, reused, attempt=attempt)):
        return served
    context = build_context(request=request, spec=spec)
    rendered = spec.render({**request.payload, **context.values})
    reservation = getattr(request, "budget_reservation", None)
    downgraded = bool(reservation and reservation.downgraded)
    key = cache_key(
        prompt_key=spec.key,
        prompt_version=request.prompt_version,
        system=rendered.system,
        user=rendered.user,
        tier=f"{spec.tier}{'-downgraded' if downgraded else ''}",
    )
    cached = response_cache_get(key)
    if cached is not None:
        return _serve_cached(request, spec, cached, attempt=attempt, sources=context.sources)

    base = generation_request_for(
        spec,
        rendered,
        model="",
        sources=context.sources,
        metadata={"request_id": str(request.id), **{k: str(v) for k, v in request.payload.items()}},
    )
    sink, gated = _stream_sink(request, spec, context.sources)
    try:
        result = generate_with_fallbacks(
            request=request,
            spec=spec,
            base=base,
            attempt=attempt,
            downgraded=downgraded,
            deadline=deadline,
            sink=sink,
        )
    except GenerationCancelled as cancelled:
        status = _stop(request, spec, partial=cancelled.result, sources=context.sources, gated=gated)
        return ProcessOutcome(status=status)
    except AllProvidersFailed as failure:
        if failure.retryable and not final_attempt:
            raise RetryableFailure(failure) from failure
        last_good = response_cache_get(key, fallback=True)
        if last_good is not None:
            logger.warning("all providers failed for %s; serving the last good cached answer", request.pk)
            return _serve_cached(request, spec, last_good, attempt=attempt, sources=context.sources)
        code = "timeout" if failure.timed_out else ("unavailable" if failure.retryable else "bad_request")
        ai_request_fail(request_id=str(request.pk), code=code, detail=str(failure))
        return ProcessOutcome(status=AIRequest.Status.FAILED)

    status = _complete(
        request, spec, text=result.text, provider=result.provider, model=result.model,
        sources=context.sources, gated=gated,
    )  # fmt: skip
    answer_kept_drop(request_id=request.pk)
    if status != AIRequest.Status.DONE:
        # Held for review: a repeat must be generated (and judged) again, not served from the cache.
        return ProcessOutcome(status=status)
    response_cache_put(
        key,
        CachedResponse(
            text=result.text,
            provider=result.provider,
            model=result.model,
            citations=request.citations,
            cited_chunk_ids=request.cited_chunk_ids,
        ),  # fmt: skip
    )
    return ProcessOutcome(status=status)
