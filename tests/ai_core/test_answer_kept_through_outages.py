"""Redis or PostgreSQL lost while, or just after, the provider answers.

The provider's answer is paid for by then: it must be stored, shown (or held for review, as its
prompt says) and charged once, not thrown away and asked for again.

Redis is "stopped" by failing every command on every connection from the moment the worker
publishes the answer's first text, as a stopped server refuses them. PostgreSQL is "lost" by the
first write after the call raising the error psycopg raises for a closed connection; the task then
retries (the next attempt is run here directly).
"""

from __future__ import annotations

import pytest
from django.db import OperationalError

from ai_core.budgets.models import BudgetReservation
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.services import generation, processing
from ai_core.services.processing import ai_request_process
from ai_core.services.recovery import ai_requests_recover_stalled
from ai_core.tasks import process_ai_request

from .outages import USAGE, RedisSwitch, submitted

pytestmark = pytest.mark.django_db


def stop_redis_at_first_text(monkeypatch, switch: RedisSwitch) -> None:
    real = processing.stream_publish

    def publish(request_id, event, data=None):
        if event == "delta":
            switch.down = True
        return real(request_id, event, data)

    monkeypatch.setattr(processing, "stream_publish", publish)


def test_redis_lost_while_the_provider_answers_keeps_the_answer_and_charges_it_once(
    claude, redis_switch, monkeypatch
):
    claude.script(path="/v1/messages", reply="billing", usage=USAGE, times=5)
    request = submitted("Where is my invoice?")
    reservation = BudgetReservation.objects.get(request=request)
    stop_redis_at_first_text(monkeypatch, redis_switch)

    process_ai_request.apply(args=[str(request.pk)])

    assert redis_switch.refused > 0  # Redis really was unreachable for the rest of the answer
    request.refresh_from_db()
    assert (request.status, request.result, request.error_code) == (AIRequest.Status.DONE, "billing", "")
    # One paid call, logged with its tokens and cost; the answer was not asked for a second time.
    assert len(claude.requests_for(path="/v1/messages")) == 1
    (log,) = LLMUsageLog.objects.filter(request=request)
    assert (log.outcome, log.input_tokens, log.output_tokens) == (LLMUsageLog.Outcome.OK, 900, 40)
    assert log.cost_usd > 0
    # The budget counters were unreachable: the hold stays open, and is charged what the answer
    # used once Redis is back and the recovery sweep runs (beat, every minute).
    reservation.refresh_from_db()
    assert reservation.settled_at is None
    redis_switch.down = False
    report = ai_requests_recover_stalled()
    reservation.refresh_from_db()
    assert report.settled == 1
    assert reservation.actual_tokens == 940


def test_the_poll_api_shows_the_answer_kept_while_redis_was_down(claude, redis_switch, monkeypatch, client):
    claude.script(path="/v1/messages", reply="billing", usage=USAGE, times=5)
    request = submitted("Where is my invoice?")
    client.force_login(request.user)
    stop_redis_at_first_text(monkeypatch, redis_switch)

    process_ai_request.apply(args=[str(request.pk)])
    redis_switch.down = False

    body = client.get(f"/api/ai/requests/{request.pk}/").json()
    assert (body["status"], body["result"]) == ("done", "billing")


def fail_once(monkeypatch, module, name: str) -> list[int]:
    """``module.name`` raises OperationalError the first time it is called, as a write does when
    PostgreSQL has just gone away; later calls go through."""
    real, calls = getattr(module, name), []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


def calls_to_claude(fake) -> int:
    return len(fake.requests_for(path="/v1/messages"))


def answered_after_a_database_error(claude, monkeypatch, module, name: str, *, reply: str = "billing",
                                    **submit) -> AIRequest:  # fmt: skip
    """Submit, let ``module.name`` fail the first attempt after the provider's answer, as a lost
    PostgreSQL does, then run the task's next attempt; the request as stored."""
    claude.script(path="/v1/messages", reply=reply, usage=USAGE, times=5)
    request = submitted(**{"text": "Where is my invoice?", **submit})
    fail_once(monkeypatch, module, name)
    with pytest.raises(OperationalError):
        ai_request_process(request_id=str(request.pk), attempt=1, final_attempt=False)
    ai_request_process(request_id=str(request.pk), attempt=2)
    request.refresh_from_db()
    return request


def test_postgres_lost_before_the_usage_row_the_retry_stores_the_answer_and_logs_the_call_once(
    claude, monkeypatch
):
    request = answered_after_a_database_error(claude, monkeypatch, generation, "usage_log_record")

    assert (request.status, request.result) == (AIRequest.Status.DONE, "billing")
    assert calls_to_claude(claude) == 1  # not asked again
    (log,) = LLMUsageLog.objects.filter(request=request)
    assert (log.outcome, log.attempt, log.input_tokens, log.output_tokens) == ("ok", 1, 900, 40)


def test_postgres_lost_storing_the_request_the_retry_stores_it_without_a_second_call_or_charge(
    claude, monkeypatch
):
    request = answered_after_a_database_error(claude, monkeypatch, processing, "_finish")
    # A third delivery of the same message (a redelivery) finds the request stored.
    assert ai_request_process(request_id=str(request.pk), attempt=3).skipped

    assert (request.status, request.result) == (AIRequest.Status.DONE, "billing")
    assert calls_to_claude(claude) == 1
    assert LLMUsageLog.objects.filter(request=request).count() == 1
    reservation = BudgetReservation.objects.get(request=request)
    assert (reservation.settled_at is not None, reservation.actual_tokens) == (True, 940)


def test_a_kept_answer_still_passes_the_gate_and_waits_for_a_reviewer(claude, monkeypatch):
    request = answered_after_a_database_error(
        claude, monkeypatch, processing, "_finish", reply="The notice period is 30 days.",
        text="Either party may end this with 30 days notice.", prompt_key="contract_analysis", variable="clause",
    )  # fmt: skip

    assert request.status == AIRequest.Status.AWAITING_REVIEW  # "always" reviewed: never shown unreviewed
    assert calls_to_claude(claude) == 1


def test_postgres_lost_while_the_answer_streams_does_not_cut_the_paid_answer_off(claude, monkeypatch):
    """The worker reads Stop from the request's row while the answer streams; with PostgreSQL gone
    that read fails. The answer under way is paid for: it must be finished, not cut off and asked
    for again."""
    reply = "Your invoice is under billing, then documents."
    claude.script(path="/v1/messages", reply=reply, usage=USAGE, times=5)
    request = submitted("Where is my invoice?")
    monkeypatch.setattr(processing._StreamPublisher, "ROW_CHECK_EVERY_S", 0.0)  # at every token
    failed = fail_once(monkeypatch, processing._StreamPublisher, "_row_says_stop")

    process_ai_request.apply(args=[str(request.pk)])

    assert failed == [1]  # read mid-answer and failed, then not read again for this answer
    request.refresh_from_db()
    assert (request.status, request.result) == (AIRequest.Status.DONE, reply)
    assert calls_to_claude(claude) == 1
    (log,) = LLMUsageLog.objects.filter(request=request)
    assert (log.outcome, log.attempt) == ("ok", 1)
