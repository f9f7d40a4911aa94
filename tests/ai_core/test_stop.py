"""Stop (``ai_request_cancel``) wherever the request is: queued, generating, waiting for a retry,
and with Redis down (the flag then travels on the request's row)."""

from __future__ import annotations

import pytest

from ai_core.budgets.models import BudgetReservation
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.prompts.registry import get_prompt
from ai_core.services import processing
from ai_core.services.processing import RetryableFailure, ai_request_cancel, ai_request_process
from ai_core.services.recovery import ai_requests_recover_stalled
from ai_core.tasks import process_ai_request

from .outages import USAGE, submitted

pytestmark = pytest.mark.django_db


def calls_to_claude(fake) -> int:
    return len(fake.requests_for(path="/v1/messages"))


def test_stop_pressed_while_a_retry_waits_ends_the_request_without_another_call(claude):
    """The first call was refused (overloaded) and the retry waits its turn; no worker is generating
    to see the flag. The retry must not make a new paid call for an answer the visitor stopped."""
    claude.script(path="/v1/messages", status=529, times=1)
    claude.script(path="/v1/messages", reply="billing", usage=USAGE)
    request = submitted("Where is my invoice?")
    with pytest.raises(RetryableFailure):
        ai_request_process(request_id=str(request.pk), attempt=1, final_attempt=False)
    stopped = ai_request_cancel(request=request)
    assert stopped.status == AIRequest.Status.PROCESSING and stopped.stop_requested_at is not None

    outcome = ai_request_process(request_id=str(request.pk), attempt=2)

    assert outcome.status == AIRequest.Status.CANCELLED
    assert calls_to_claude(claude) == 1  # the refused one only
    request.refresh_from_db()
    assert (request.status, request.error_code, request.result) == (AIRequest.Status.CANCELLED, "stopped", "")
    assert [log.error_code for log in LLMUsageLog.objects.filter(request=request)] == ["overloaded"]
    reservation = BudgetReservation.objects.get(request=request)
    assert reservation.settled_at is not None and reservation.actual_tokens == 0


LONG_REPLY = " ".join(f"Refund rule {n} applies to plans bought within thirty days." for n in range(1, 31))


def test_stop_pressed_while_redis_is_down_still_stops_the_answer(claude, redis_switch, monkeypatch):
    """The Stop flag cannot reach Redis, and the worker has lost the stream: the worker reads Stop
    from the request's row instead, keeps the partial answer and is charged for it alone."""
    claude.script(path="/v1/messages", reply=LONG_REPLY, times=5)
    request = submitted("Tell me every refund rule")
    max_tokens = get_prompt("content_classify").max_tokens  # what an answer that ran on would cost
    real, deltas = processing.stream_publish, []

    def publish(request_id, event, data=None):
        if event == "delta":
            deltas.append(data["text"])
            if len(deltas) == 2:  # Redis stops, and the visitor presses Stop
                redis_switch.down = True
                ai_request_cancel(request=AIRequest.objects.get(pk=request_id))
        return real(request_id, event, data)

    monkeypatch.setattr(processing, "stream_publish", publish)
    process_ai_request.apply(args=[str(request.pk)])

    assert redis_switch.refused > 0
    request.refresh_from_db()
    assert (request.status, request.error_code) == (AIRequest.Status.CANCELLED, "stopped")
    assert request.stop_requested_at is not None
    assert request.result and len(request.result.split()) <= 4
    (log,) = LLMUsageLog.objects.filter(request=request)
    assert 0 < log.output_tokens < max_tokens  # what was generated, not the whole answer


def test_stop_of_a_queued_request_while_redis_is_down_cancels_it_and_nothing_runs(
    claude, redis_switch, client
):
    claude.script(path="/v1/messages", reply="billing", usage=USAGE, times=5)
    request = submitted("Where is my invoice?")
    client.force_login(request.user)
    redis_switch.down = True
    response = client.post(f"/api/ai/requests/{request.pk}/cancel/")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "cancelled"
    redis_switch.down = False
    process_ai_request.apply(args=[str(request.pk)])  # its message, delivered later
    request.refresh_from_db()
    assert (request.status, request.error_code) == (AIRequest.Status.CANCELLED, "stopped")
    assert calls_to_claude(claude) == 0
    # The budget counters were unreachable when it was cancelled: the sweep settles the hold.
    assert ai_requests_recover_stalled().settled == 1
    assert BudgetReservation.objects.get(request=request).settled_at is not None


def test_stop_taken_while_only_the_web_process_lost_redis_still_stops_the_answer(
    claude, redis_switch, monkeypatch
):
    """Redis refuses the web process's Stop (a blip, or that host cut off) but is fine for the
    worker, which finds no flag there: the row has it, and the worker reads the row too."""
    claude.script(path="/v1/messages", reply=LONG_REPLY, times=5)
    # The row at every token, not once a second: which token the Stop lands on is then certain.
    monkeypatch.setattr(processing._StreamPublisher, "ROW_CHECK_EVERY_S", 0.0)
    request = submitted("Tell me every refund rule")
    real, deltas = processing.stream_publish, []

    def publish(request_id, event, data=None):
        if event == "delta":
            deltas.append(data["text"])
            if len(deltas) == 2:
                redis_switch.down = True
                ai_request_cancel(request=AIRequest.objects.get(pk=request_id))
                redis_switch.down = False
        return real(request_id, event, data)

    monkeypatch.setattr(processing, "stream_publish", publish)
    process_ai_request.apply(args=[str(request.pk)])

    request.refresh_from_db()
    assert (request.status, request.error_code) == (AIRequest.Status.CANCELLED, "stopped")
    assert len(deltas) == 2  # the next token saw the Stop
