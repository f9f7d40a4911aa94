"""The worker side: processing, idempotent redelivery, the advisory lock and the in-request guard."""

import threading

import pytest
from django.db import connections

from ai_core.guard import ModelCallInRequestError, mark_http_request, unmark_http_request
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.prompts.registry import get_prompt
from ai_core.providers import generation_provider
from ai_core.services.processing import ai_request_process
from ai_core.tasks import process_ai_request
from ai_core.tasks.requests import LOCK_WAITS_HEADER
from tests.conftest import queued_headers, tasks_in, tasks_routed_to

from .locks import lock_held_by_another_session

pytestmark = pytest.mark.django_db


def make_request(**fields) -> AIRequest:
    defaults = {
        "prompt_key": "content_classify",
        "prompt_version": get_prompt("content_classify").version,
        "payload": {"text": "Where is my invoice?"},
    }
    return AIRequest.objects.create(**{**defaults, **fields})


def test_processing_stores_the_result_model_and_one_costed_usage_row():
    request = make_request()
    process_ai_request.apply(args=[str(request.pk)])
    request.refresh_from_db()
    assert request.status == AIRequest.Status.DONE
    assert request.result == "billing"
    assert request.model_used == "extractive-minilm"
    assert request.attempts == 1
    (log,) = LLMUsageLog.objects.filter(request=request)
    assert (log.prompt_key, log.prompt_version, log.model, log.outcome) == (
        "content_classify",
        get_prompt("content_classify").version,
        "extractive-minilm",
        "ok",
    )
    assert log.input_tokens > 0
    assert log.cost_usd == 0


def test_a_redelivered_task_for_a_finished_request_does_nothing_and_logs_nothing_twice():
    request = make_request()
    process_ai_request.apply(args=[str(request.pk)])
    finished_at = AIRequest.objects.get(pk=request.pk).finished_at
    process_ai_request.apply(args=[str(request.pk)])
    request.refresh_from_db()
    assert LLMUsageLog.objects.filter(request=request).count() == 1
    assert request.attempts == 1
    assert request.finished_at == finished_at


@pytest.mark.django_db(transaction=True)
def test_a_second_delivery_steps_aside_while_another_worker_holds_the_request():
    request = make_request()
    with lock_held_by_another_session(request.pk):
        outcome = ai_request_process(request_id=str(request.pk))
    assert outcome.skipped and outcome.status == "locked"
    request.refresh_from_db()
    assert request.status == AIRequest.Status.PENDING
    assert not LLMUsageLog.objects.exists()


def _sent_again(client, queue: str) -> list[tuple[str, int, int | None, float]]:
    """(task id, retry count, lock waits, seconds until due) of each message waiting in ``queue``."""
    from datetime import UTC, datetime

    return [
        (
            m["id"],
            m["retries"],
            m.get(LOCK_WAITS_HEADER),
            (datetime.fromisoformat(m["eta"]) - datetime.now(UTC)).total_seconds(),
        )
        for m in queued_headers(client, queue)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_delivery_that_finds_the_open_request_held_is_sent_again_without_using_a_retry(
    caplog, unread_queues
):
    """The holder may be a dead worker's session that PostgreSQL has not ended yet: the message is
    sent again in 4, 8 and 16 s, with its id and its retry count (a wait is not an attempt, and
    must not use up the retries a provider failure needs), and the third wait leaves the request
    to the recovery sweep. Each message sent is run here as the worker would run it."""
    base, client = unread_queues
    request = make_request()
    caplog.set_level("INFO", logger="ai_core.tasks.requests")
    headers = None
    with lock_held_by_another_session(request.pk), tasks_routed_to(base):
        for waits, countdown in enumerate([4, 8, 16]):
            process_ai_request.apply(args=[str(request.pk)], task_id="the-task", retries=1, headers=headers)
            ((task_id, retries, sent_waits, due_in),) = _sent_again(client, f"{base}.visitor")
            assert (task_id, retries, sent_waits) == ("the-task", 1, waits + 1)
            assert countdown - 2 < due_in <= countdown
            client.delete(f"{base}.visitor")
            headers = {LOCK_WAITS_HEADER: sent_waits}
        process_ai_request.apply(args=[str(request.pk)], retries=1, headers=headers)  # the third wait's
        assert tasks_in(client, f"{base}.visitor") == []
    assert any("leaving it to the recovery sweep" in r.getMessage() for r in caplog.records)
    request.refresh_from_db()
    assert request.status == AIRequest.Status.PENDING
    assert not LLMUsageLog.objects.exists()
    process_ai_request.apply(args=[str(request.pk)], retries=1, headers=headers)  # the lock is free
    request.refresh_from_db()
    assert request.status == AIRequest.Status.DONE
    assert LLMUsageLog.objects.filter(request=request).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_delivery_of_a_finished_request_whose_lock_is_held_is_not_retried(caplog):
    request = make_request(status=AIRequest.Status.DONE, result="Stored already.")
    caplog.set_level("INFO", logger="ai_core.tasks.requests")
    with lock_held_by_another_session(request.pk):
        outcome = ai_request_process(request_id=str(request.pk))
        process_ai_request.apply(args=[str(request.pk)])
    assert outcome.skipped and outcome.status == AIRequest.Status.DONE
    assert not any("trying again" in r.getMessage() for r in caplog.records)
    request.refresh_from_db()
    assert (request.status, request.result) == (AIRequest.Status.DONE, "Stored already.")


def test_provider_lookup_inside_an_http_request_raises():
    token = mark_http_request("/api/ai/requests/")
    try:
        with pytest.raises(ModelCallInRequestError, match="Celery"):
            generation_provider()
    finally:
        unmark_http_request(token)
    assert generation_provider() is not None  # outside a request the same lookup works


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_run_inside_the_request_handler_is_refused(client, settings):
    """If someone wired a synchronous model call into a view, the request would fail loudly."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("e", "e@example.com", "pw-e-12345")
    client.force_login(user)
    # In autocommit mode on_commit runs immediately, i.e. inside the handler, and eager mode then
    # runs the task inline: exactly the mistake the guard exists for.
    with pytest.raises(ModelCallInRequestError):
        client.post(
            "/api/ai/requests/",
            {"prompt_key": "content_classify", "payload": {"text": "x"}},
            content_type="application/json",
        )
    request = AIRequest.objects.get()
    assert request.status == AIRequest.Status.FAILED
    assert request.error_code == "internal"
    assert not LLMUsageLog.objects.exists()


def test_the_output_records_the_prompt_version_that_actually_answered():
    live = get_prompt("content_classify").version
    request = make_request(prompt_version=live - 1)  # accepted just before a publish
    process_ai_request.apply(args=[str(request.pk)])
    request.refresh_from_db()
    assert request.prompt_version == live
    assert LLMUsageLog.objects.get(request=request).prompt_version == live


@pytest.mark.django_db(transaction=True)
def test_a_failed_request_is_never_seen_finished_while_its_budget_is_still_open(client, monkeypatch):
    """The end of a request and its budget settlement commit together: while the settlement waits
    (here on a row lock another connection holds), nobody sees the request finished; a worker
    killed at that moment would leave it running (for the sweep), never finished and unsettled."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from ai_core.budgets.models import BudgetReservation
    from ai_core.services.processing import ai_request_fail
    from tests.conftest import wait_for

    monkeypatch.setattr(process_ai_request, "delay", lambda *args, **kwargs: None)  # never runs
    client.force_login(get_user_model().objects.create_user("ends", "ends@example.com", "pw-ends-123"))
    response = client.post(
        "/api/ai/requests/",
        data={"prompt_key": "content_classify", "payload": {"text": "Invoices"}},
        content_type="application/json",
    )
    request_id = response.json()["id"]
    locked, release = threading.Event(), threading.Event()

    def hold_the_reservation() -> None:
        try:
            with transaction.atomic():
                BudgetReservation.objects.select_for_update().get(request_id=request_id)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    def fail() -> None:
        try:
            ai_request_fail(request_id=request_id, code="timeout")
        finally:
            connection.close()

    def settlement_waiting() -> bool:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%%budgets_budgetreservation%%'"
            )
            return cursor.fetchone()[0] > 0

    holder, failer = threading.Thread(target=hold_the_reservation), threading.Thread(target=fail)
    holder.start()
    try:
        assert locked.wait(10)
        failer.start()
        wait_for(settlement_waiting, timeout=10, message="the settlement never reached the reservation")
        assert AIRequest.objects.get(pk=request_id).status == AIRequest.Status.PENDING
        assert client.get(f"/api/ai/requests/{request_id}/").json()["status"] == "pending"
    finally:
        release.set()
        holder.join(10)
    failer.join(10)
    request = AIRequest.objects.get(pk=request_id)
    assert request.status == AIRequest.Status.FAILED
    assert BudgetReservation.objects.get(request=request).settled_at is not None
