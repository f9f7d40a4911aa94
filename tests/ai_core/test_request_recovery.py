"""Requests whose task message was lost are queued again by the recovery sweep, or expire cleanly."""

import datetime as dt
import json

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from kombu.exceptions import OperationalError

from ai_core.budgets.models import BudgetReservation
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.prompts.registry import get_prompt
from ai_core.providers.base import Usage
from ai_core.services.processing import ai_request_fail
from ai_core.services.recovery import ai_requests_recover_stalled
from ai_core.services.usage import usage_log_record
from ai_core.tasks import process_ai_request
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


def make_request(*, age_s: float, status=AIRequest.Status.PENDING) -> AIRequest:
    request = AIRequest.objects.create(
        prompt_key="content_classify",
        prompt_version=get_prompt("content_classify").version,
        payload={"text": "Where is my invoice?"},
        status=status,
    )
    past = timezone.now() - dt.timedelta(seconds=age_s)
    # auto_now(_add) fields: backdate with an UPDATE, as time passing would.
    AIRequest.objects.filter(pk=request.pk).update(created_at=past, updated_at=past)
    return request


def test_a_pending_request_whose_message_was_lost_is_answered_after_the_sweep():
    lost = make_request(age_s=600)
    recent = make_request(age_s=5)  # probably still queued behind other work: left alone

    report = ai_requests_recover_stalled()

    assert report.requeued == 1
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.status == AIRequest.Status.DONE  # eager in unit tests: the re-queued task ran
    assert lost.result == "billing"
    assert recent.status == AIRequest.Status.PENDING
    assert LLMUsageLog.objects.filter(request=lost, outcome="ok").count() == 1


def test_a_stalled_request_is_queued_again_at_most_once_per_interval(monkeypatch):
    stalled = make_request(age_s=600)
    queued: list[str] = []
    monkeypatch.setattr(process_ai_request, "delay", queued.append)  # a queue nobody consumes yet

    first, second = ai_requests_recover_stalled(), ai_requests_recover_stalled()

    assert queued == [str(stalled.pk)]
    assert (first.requeued, second.requeued, second.already_requeued) == (1, 0, 1)


def test_processing_requests_silent_past_the_hard_limit_are_queued_again_but_busy_ones_are_not():
    silent = make_request(age_s=1200, status=AIRequest.Status.PROCESSING)
    busy = make_request(age_s=30, status=AIRequest.Status.PROCESSING)

    report = ai_requests_recover_stalled()

    assert report.requeued == 1
    silent.refresh_from_db()
    busy.refresh_from_db()
    assert silent.status == AIRequest.Status.DONE
    assert busy.status == AIRequest.Status.PROCESSING


def test_requests_nobody_waits_for_any_more_fail_as_expired_and_are_not_answered():
    old = make_request(age_s=2 * 3600)
    report = ai_requests_recover_stalled()
    assert (report.expired, report.requeued) == (1, 0)
    old.refresh_from_db()
    assert old.status == AIRequest.Status.FAILED
    assert old.error_code == "expired"
    assert "not answered in time" in old.error
    assert not LLMUsageLog.objects.filter(request=old).exists()


def test_awaiting_review_and_finished_requests_are_never_touched():
    held = make_request(age_s=2 * 3600, status=AIRequest.Status.AWAITING_REVIEW)
    done = make_request(age_s=2 * 3600, status=AIRequest.Status.DONE)
    report = ai_requests_recover_stalled()
    assert (report.expired, report.requeued) == (0, 0)
    assert AIRequest.objects.get(pk=held.pk).status == AIRequest.Status.AWAITING_REVIEW
    assert AIRequest.objects.get(pk=done.pk).status == AIRequest.Status.DONE


def test_a_broker_outage_at_submit_still_answers_202_and_the_sweep_answers_the_question_later(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    user = get_user_model().objects.create_user("asker", "asker@example.com", "pw-asker-1")
    client.force_login(user)

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(process_ai_request, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/ai/requests/",
            json.dumps({"prompt_key": "content_classify", "payload": {"text": "Invoices"}}),
            content_type="application/json",
        )
    assert response.status_code == 202
    request = AIRequest.objects.get(pk=response.json()["id"])
    assert request.status == AIRequest.Status.PENDING
    assert BudgetReservation.objects.filter(request=request, settled_at__isnull=True).exists()

    monkeypatch.undo()  # the broker is back
    past = timezone.now() - dt.timedelta(minutes=5)
    AIRequest.objects.filter(pk=request.pk).update(created_at=past, updated_at=past)
    assert ai_requests_recover_stalled().requeued == 1
    request.refresh_from_db()
    assert request.status == AIRequest.Status.DONE
    assert BudgetReservation.objects.get(request=request).settled_at is not None


# --- Terminal means settled: a reservation a crash (or a Redis outage) left open on a finished
# request is settled by the sweep, once.


def submitted(client) -> AIRequest:
    """A signed-in user's request, committed with its budget held (its task never runs here: the
    test's transaction never commits, so the on-commit enqueue does not fire)."""
    user = get_user_model().objects.create_user("holder", "holder@example.com", "pw-holder-1")
    client.force_login(user)
    response = client.post(
        "/api/ai/requests/",
        json.dumps({"prompt_key": "content_classify", "payload": {"text": "Invoices"}}),
        content_type="application/json",
    )
    assert response.status_code == 202
    return AIRequest.objects.get(pk=response.json()["id"])


def counters(redis_client, reservation: BudgetReservation) -> dict[str, int]:
    return {key: int(redis_client.get(key) or 0) for key in reservation.scopes}


def test_a_reservation_left_open_on_a_finished_request_is_settled_by_the_sweep(client, redis_client):
    request = submitted(client)
    reservation = BudgetReservation.objects.get(request=request)
    held = counters(redis_client, reservation)
    assert all(value >= reservation.reserved_tokens > 0 for value in held.values())
    # A worker spent 42 tokens, ended the request and died before settling.
    usage_log_record(request=request, operation=LLMUsageLog.Operation.GENERATION, provider="anthropic",
                     model="claude-haiku-4-5", usage=Usage(input_tokens=30, output_tokens=12), latency_ms=5)  # fmt: skip
    AIRequest.objects.filter(pk=request.pk).update(status=AIRequest.Status.FAILED, error_code="internal")
    still_running = make_request(age_s=5, status=AIRequest.Status.PROCESSING)
    BudgetReservation.objects.create(request=still_running, day=reservation.day, scopes=[], reserved_tokens=9)

    assert ai_requests_recover_stalled().settled == 1

    reservation.refresh_from_db()
    assert reservation.settled_at is not None and reservation.actual_tokens == 42
    assert counters(redis_client, reservation) == {
        key: value - reservation.reserved_tokens + 42 for key, value in held.items()
    }
    assert BudgetReservation.objects.get(request=still_running).settled_at is None  # still running
    assert ai_requests_recover_stalled().settled == 0  # charged once, never twice
    assert (
        counters(redis_client, reservation)[reservation.scopes[0]]
        == held[reservation.scopes[0]] - reservation.reserved_tokens + 42
    )


def test_a_request_failed_while_redis_is_down_still_ends_and_the_sweep_settles_it_once_redis_is_back(
    client, settings, redis_client
):
    request = submitted(client)
    reservation = BudgetReservation.objects.get(request=request)
    held = counters(redis_client, reservation)
    redis_url = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    ai_request_fail(request_id=str(request.pk), code="unavailable", detail="Redis restarted")

    request.refresh_from_db()
    assert request.status == AIRequest.Status.FAILED and "try again" in request.error
    assert BudgetReservation.objects.get(pk=reservation.pk).settled_at is None  # Redis refused it
    assert ai_requests_recover_stalled().settled == 0  # still down: left for the next sweep

    settings.REDIS_URL = redis_url
    assert ai_requests_recover_stalled().settled == 1
    reservation.refresh_from_db()
    assert (reservation.settled_at is not None, reservation.actual_tokens) == (True, 0)
    assert counters(redis_client, reservation) == {
        key: value - reservation.reserved_tokens for key, value in held.items()
    }
