"""SIGKILL in the middle of a task: the request still completes after redelivery, its provider call
is logged once and its budget is charged once. Killed before the provider answered, the call is made
again; killed after (its answer paid for, not yet stored), the redelivery stores that answer."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from ai_core.budgets.models import BudgetReservation
from ai_core.models import AIRequest, LLMUsageLog
from tests.conftest import wait_for

from .stack import FINISHED

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

REPLY = "Either party may terminate on 30 days' notice."


def _anthropic_env(fake_provider) -> dict[str, str]:
    return {
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": fake_provider.base_url,
        "AI_FALLBACK_TO_LOCAL": "false",
    }


def _ask(stack) -> str:
    response = stack.visitor().ask("Can either party terminate on 30 days' notice?")
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _wait_for_the_provider_call(stack, fake_provider) -> None:
    wait_for(
        lambda: fake_provider.requests_for(path="/v1/messages"),
        timeout=60,
        message=f"the worker never called the provider:\n{stack.worker_log()}",
    )


def _ask_and_wait_for_the_provider_call(stack, fake_provider) -> str:
    """Submit a question whose first provider call hangs; return once that call is in flight."""
    fake_provider.script(path="/v1/messages", latency=60, times=1)  # cut short by the kill
    fake_provider.script(path="/v1/messages", reply=REPLY)
    request_id = _ask(stack)
    _wait_for_the_provider_call(stack, fake_provider)
    assert AIRequest.objects.get(pk=request_id).status == AIRequest.Status.PROCESSING
    assert not LLMUsageLog.objects.filter(request_id=request_id).exists()  # killed before any row
    return request_id


def _assert_answered_once_and_charged_once(
    stack, fake_provider, request_id: str, counts, *, provider_calls: int
) -> list[LLMUsageLog]:
    """The request is done with the provider's text after ``provider_calls`` calls, one of them
    logged OK, and the budget charged exactly what its usage rows say; returns those rows."""
    request = wait_for(
        lambda: (r := AIRequest.objects.get(pk=request_id)).status in FINISHED and r,
        timeout=90,
        message=f"the request was never finished after the redelivery:\n{stack.worker_log()}",
    )
    counts.tally([request.status])
    assert request.status == AIRequest.Status.DONE, (request.status, request.error_code)
    assert request.result == REPLY
    assert len(fake_provider.requests_for(path="/v1/messages")) == provider_calls
    rows = list(LLMUsageLog.objects.filter(request_id=request_id))
    ok_rows = [row for row in rows if row.outcome == LLMUsageLog.Outcome.OK]
    counts.duplicated += max(0, len(ok_rows) - 1)
    assert len(ok_rows) == 1
    spent = sum(r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens for r in rows)
    reservation = BudgetReservation.objects.get(request_id=request_id)
    assert reservation.settled_at is not None
    assert reservation.actual_tokens == spent > 0
    # Every counter the reservation held (site, session, IP; this stack's namespace only) now carries
    # exactly the tokens spent: the estimate was refunded once, and nothing was charged twice.
    charged = {key: int(stack.redis().get(key) or 0) for key in reservation.scopes}
    counts.duplicated += sum(value > spent for value in charged.values())
    assert charged == dict.fromkeys(reservation.scopes, spent)
    return rows


def _no_server_errors(stack, counts, started: float) -> None:
    counts.http_500 = stack.http_500
    counts.seconds = time.monotonic() - started
    assert stack.http_500 == 0


def test_a_task_process_killed_mid_call_is_redelivered_and_charged_once(
    fault_stack, fake_provider, fault_counts
):
    started = time.monotonic()
    stack = fault_stack("kill-child", **_anthropic_env(fake_provider))
    request_id = _ask_and_wait_for_the_provider_call(stack, fake_provider)
    killed = stack.kill_task_process()
    fault_counts.notes.append(f"SIGKILL pool process {killed}; the worker requeued the message at once")
    _assert_answered_once_and_charged_once(stack, fake_provider, request_id, fault_counts, provider_calls=2)
    _no_server_errors(stack, fault_counts, started)


def test_a_whole_worker_killed_mid_call_is_redelivered_to_its_replacement(
    fault_stack, fake_provider, private_redis, fault_counts
):
    """The node dies (SIGKILL to every worker process): the message stays unacknowledged in the
    broker and a new worker restores it once the visibility timeout has passed."""
    started = time.monotonic()
    stack = fault_stack(
        "kill-worker",
        **_anthropic_env(fake_provider),
        CELERY_BROKER_URL=private_redis.url,  # its own broker, so a short visibility timeout is harmless
        CELERY_VISIBILITY_TIMEOUT="5",
        LECTERN_TEST_BROKER_TRANSPORT_OPTIONS=json.dumps(
            {"unacked_restore_interval": 1, "unacked_restore_throttle": 1}
        ),
    )
    request_id = _ask_and_wait_for_the_provider_call(stack, fake_provider)
    stack.kill_worker()
    assert AIRequest.objects.get(pk=request_id).status == AIRequest.Status.PROCESSING
    stack.start_worker()
    _assert_answered_once_and_charged_once(stack, fake_provider, request_id, fault_counts, provider_calls=2)
    fault_counts.notes.append(f"redelivered {time.monotonic() - started:.0f} s after submit (visibility 5 s)")
    _no_server_errors(stack, fault_counts, started)


# Celery's own line at the end of a task run (the killed run never gets one).
TASK_RUN_ENDED = re.compile(r"Task ai_core\.process_request\[[^]]+\] (succeeded in|retry: )")


@contextmanager
def _held(sql: str, params: tuple = ()) -> Iterator[None]:
    """Run ``sql`` (a lock) in a transaction of another session, held until the block ends: what a
    migration, a slow disk or a long report would do to the worker's next statement."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
    ) as conn:
        conn.execute(sql, params)
        yield
        conn.rollback()


def _sessions_waiting(statement: str) -> list[int]:
    """The database sessions waiting for a lock to run a statement that starts with ``statement``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            [statement + "%"],
        )
        return [pid for (pid,) in cursor.fetchall()]


def _kill_while_waiting(stack, request_id: str, statement: str, *, logged: bool) -> int:
    """Once the worker's session waits to run ``statement``, the provider's answer in hand, SIGKILL
    the task process; return when the redelivered message has been run and has ended. The dead
    worker's session is still waiting then, holding the request's lock."""
    waiting = wait_for(
        lambda: _sessions_waiting(statement),
        timeout=60,
        message=f"the worker never reached {statement!r}:\n{stack.worker_log()}",
    )
    assert len(waiting) == 1
    assert LLMUsageLog.objects.filter(request_id=request_id).exists() is logged
    killed = stack.kill_task_process()
    wait_for(
        lambda: TASK_RUN_ENDED.search(stack.worker_log_full()),
        timeout=60,
        message=f"the message was not redelivered:\n{stack.worker_log()}",
    )
    return killed


def _assert_stored_without_asking_again(stack, fake_provider, request_id: str, counts) -> None:
    """One provider call, and its usage row is the first attempt's: the redelivery stored the
    answer it had, without a call or a row of its own."""
    rows = _assert_answered_once_and_charged_once(stack, fake_provider, request_id, counts, provider_calls=1)
    assert [(row.outcome, row.attempt) for row in rows] == [(LLMUsageLog.Outcome.OK, 1)]


def test_a_task_process_killed_writing_the_usage_row_of_a_paid_answer_stores_that_answer(
    fault_stack, fake_provider, fault_counts
):
    """The provider has answered (paid for) and the worker dies while its INSERT of the call's
    usage row waits. PostgreSQL still runs that INSERT, and the dead worker's session keeps the
    request's lock until it ends. The redelivery must neither drop the request (left to the
    recovery sweep, 15 minutes later) nor ask the provider again."""
    started = time.monotonic()
    stack = fault_stack("kill-at-usage-row", **_anthropic_env(fake_provider))
    fake_provider.script(path="/v1/messages", reply=REPLY)
    with _held("LOCK TABLE ai_core_llmusagelog IN EXCLUSIVE MODE"):  # reads go on, writes wait
        request_id = _ask(stack)
        killed = _kill_while_waiting(stack, request_id, 'INSERT INTO "ai_core_llmusagelog"', logged=False)
    fault_counts.notes.append(f"SIGKILL pool process {killed} while its usage row waited for a lock")
    _assert_stored_without_asking_again(stack, fake_provider, request_id, fault_counts)
    _no_server_errors(stack, fault_counts, started)


def test_a_task_process_killed_storing_a_logged_answer_stores_it_once(
    fault_stack, fake_provider, fault_counts
):
    """The call is logged; the worker dies while storing the answer (its transaction, waiting for
    the request's row, is rolled back when its session ends). The redelivery stores the kept
    answer, and does not log the call a second time."""
    started = time.monotonic()
    stack = fault_stack("kill-at-store", **_anthropic_env(fake_provider))
    fake_provider.script(path="/v1/messages", reply=REPLY, latency=2)  # time to take the row's lock
    request_id = _ask(stack)
    _wait_for_the_provider_call(stack, fake_provider)
    # FOR NO KEY UPDATE: the usage row's foreign key check passes, the answer's UPDATE waits.
    with _held("SELECT 1 FROM ai_core_airequest WHERE id = %s FOR NO KEY UPDATE", (request_id,)):
        killed = _kill_while_waiting(stack, request_id, 'UPDATE "ai_core_airequest"', logged=True)
    fault_counts.notes.append(f"SIGKILL pool process {killed} while its answer waited for the row")
    _assert_stored_without_asking_again(stack, fake_provider, request_id, fault_counts)
    _no_server_errors(stack, fault_counts, started)
