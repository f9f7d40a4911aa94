"""SIGKILL in the middle of a task: the request still completes after redelivery, its provider call
is logged once and its budget is charged once."""

from __future__ import annotations

import json
import time

import pytest

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


def _ask_and_wait_for_the_provider_call(stack, fake_provider) -> str:
    """Submit a question whose first provider call hangs; return once that call is in flight."""
    fake_provider.script(path="/v1/messages", latency=60, times=1)  # cut short by the kill
    fake_provider.script(path="/v1/messages", reply=REPLY)
    response = stack.visitor().ask("Can either party terminate on 30 days' notice?")
    assert response.status_code == 202, response.text
    request_id = response.json()["id"]
    wait_for(
        lambda: fake_provider.requests_for(path="/v1/messages"),
        timeout=60,
        message=f"the worker never called the provider:\n{stack.worker_log()}",
    )
    assert AIRequest.objects.get(pk=request_id).status == AIRequest.Status.PROCESSING
    assert not LLMUsageLog.objects.filter(request_id=request_id).exists()  # killed before any row
    return request_id


def _assert_answered_once_and_charged_once(stack, fake_provider, request_id: str, counts) -> None:
    request = wait_for(
        lambda: (r := AIRequest.objects.get(pk=request_id)).status in FINISHED and r,
        timeout=90,
        message=f"the request was not redelivered:\n{stack.worker_log()}",
    )
    counts.tally([request.status])
    assert request.status == AIRequest.Status.DONE, (request.status, request.error_code)
    assert request.result == REPLY
    assert len(fake_provider.requests_for(path="/v1/messages")) == 2  # the killed call and the redelivery
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


def test_a_task_process_killed_mid_call_is_redelivered_and_charged_once(
    fault_stack, fake_provider, fault_counts
):
    started = time.monotonic()
    stack = fault_stack("kill-child", **_anthropic_env(fake_provider))
    request_id = _ask_and_wait_for_the_provider_call(stack, fake_provider)
    killed = stack.kill_task_process()
    fault_counts.notes.append(f"SIGKILL pool process {killed}; the worker requeued the message at once")
    _assert_answered_once_and_charged_once(stack, fake_provider, request_id, fault_counts)
    fault_counts.http_500 = stack.http_500
    fault_counts.seconds = time.monotonic() - started
    assert stack.http_500 == 0


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
    _assert_answered_once_and_charged_once(stack, fake_provider, request_id, fault_counts)
    fault_counts.notes.append(f"redelivered {time.monotonic() - started:.0f} s after submit (visibility 5 s)")
    fault_counts.http_500 = stack.http_500
    fault_counts.seconds = time.monotonic() - started
    assert stack.http_500 == 0
