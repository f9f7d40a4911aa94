"""Redis (cache, budgets, streams and the Celery broker) restarts in the middle of a run.

The private Redis keeps an append-only file, as docker-compose.yml and scripts/services.sh run
theirs: queued task messages survive the restart. A message a worker was taking at the moment Redis
stopped may not, and the recovery sweep queues its request again (see the scenario's comments).
"""

from __future__ import annotations

import time

import pytest

from ai_core.budgets.models import BudgetReservation
from ai_core.models import AIRequest, LLMUsageLog
from tests.conftest import wait_for

from .stack import wait_all_finished

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

REQUESTS = 8
# The recovery sweep's stall threshold (120 s in production) and how often the test plays beat's part
# in sending the sweep (every 60 s in production), both shortened to keep the scenario short.
REQUEUE_AFTER_S = 15
SWEEP_EVERY_S = 5.0


def test_a_redis_restart_mid_run_loses_no_request_and_healthz_tracks_it(
    fault_stack, fake_provider, private_redis, fault_counts
):
    started = time.monotonic()
    fake_provider.script(path="/v1/messages", latency=1.0, reply="Refunds take 14 days.", times=10_000)
    stack = fault_stack(
        "redis-restart",
        REDIS_URL=private_redis.url,  # cache, budgets, breakers, streams and the broker
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake_provider.base_url,
        AI_FALLBACK_TO_LOCAL="false",
        AI_ANON_RATE_LIMIT_REQUESTS="1000",
        AI_BUDGET_ANON_IP_DAILY_TOKENS="10000000",
        AI_REVIEW_WEAK_GROUNDING="false",
        AI_RECOVERY_REQUEUE_AFTER_S=str(REQUEUE_AFTER_S),
    )
    visitor = stack.visitor()
    ids = []
    for n in range(REQUESTS):
        response = visitor.ask(f"Question {n}: how long do refunds take?")
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])

    def question_calls() -> list[dict]:
        return fake_provider.requests_for(path="/v1/messages", containing="refunds take?")

    def answered_and_one_under_way() -> bool:
        # Two answers done, and a call the provider has received and is still answering (its
        # 1 s latency): Redis stops under it, so its answer arrives while Redis is down.
        done = AIRequest.objects.filter(pk__in=ids, status=AIRequest.Status.DONE).count()
        return done >= 2 and len(question_calls()) > LLMUsageLog.objects.filter(request_id__in=ids).count()

    wait_for(
        answered_and_one_under_way,
        timeout=60,
        message=f"no request finished, or none under way, before the restart:\n{stack.worker_log()}",
    )

    private_redis.stop()
    down = visitor.healthz()
    assert down.status_code == 503 and "redis" in down.json()["down"], down.text
    # A visitor asking while Redis is down is told to come back later, not shown a server error.
    refused = visitor.ask("Asked while Redis is down?")
    fault_counts.notes.append(f"ask while Redis down: HTTP {refused.status_code}")
    time.sleep(2)
    private_redis.start()
    wait_for(
        lambda: visitor.healthz().status_code == 200,
        timeout=60,
        message=f"/healthz never recovered: {visitor.healthz().text}",
    )

    # A message the worker has taken but not started when Redis stops (the worker takes the next one
    # right after the commit this test waits for) does not come back with Redis: Celery drops the
    # requests it reserved when its broker connection breaks, and Redis keeps its copy in the unacked
    # set until the visibility timeout (10 minutes) has passed. Its request stays PENDING, and beat's
    # recovery sweep queues it again after REQUEUE_AFTER_S: the sweep runs here as beat runs it,
    # alongside the worker.
    statuses = wait_all_finished(
        ids,
        timeout=120,
        tick=lambda: stack.run_beat_task("ai_core.recover_stalled_requests"),
        tick_every=SWEEP_EVERY_S,
    )
    requeued = stack.worker_log_full().count("stalled: queueing it again")
    fault_counts.tally(list(statuses.values()))
    fault_counts.http_500 = stack.http_500
    fault_counts.seconds = time.monotonic() - started
    ok_rows = list(
        LLMUsageLog.objects.filter(request_id__in=ids, outcome=LLMUsageLog.Outcome.OK).values_list(
            "request_id", flat=True
        )
    )
    fault_counts.duplicated = len(ok_rows) - len(set(ok_rows))
    # Every call the provider received for these questions is logged with its cost (OK or error),
    # and an answer the provider gave is never thrown away: a request with an OK call ends done.
    # The call under way when Redis stopped finishes while it is down, with no stream, breaker or
    # budget counter to write to.
    calls = question_calls()
    logged_calls = (
        LLMUsageLog.objects.filter(
            request_id__in=ids, provider="anthropic", operation=LLMUsageLog.Operation.GENERATION
        )
        .exclude(error_code="circuit_open")
        .count()
    )  # a link skipped for an open circuit made no call
    answered_not_done = sorted(
        str(pk)
        for pk, status in statuses.items()
        if str(pk) in {str(r) for r in ok_rows} and status != AIRequest.Status.DONE
    )
    open_reservations = BudgetReservation.objects.filter(request_id__in=ids, settled_at__isnull=True)
    left_open = open_reservations.count()
    # A request that failed while Redis was down ends at once, but its settlement (Redis counters)
    # cannot happen then; the recovery sweep, run by beat every minute, settles it once Redis is back.
    stack.run_beat_task("ai_core.recover_stalled_requests")
    wait_for(lambda: not open_reservations.exists(), timeout=60,
             message=f"the recovery sweep left reservations open:\n{stack.worker_log()}")  # fmt: skip
    unsettled = open_reservations.count()
    fault_counts.notes.append(
        f"statuses: {sorted(statuses.values())}; queued again by the recovery sweep: {requeued}; "
        f"reservations left open by the outage: {left_open}, after the recovery sweep: {unsettled}; "
        f"provider calls {len(calls)}, logged {logged_calls}"
    )

    assert refused.status_code == 503, refused.text
    assert fault_counts.lost == 0, f"{statuses}\n{stack.worker_log()}"
    assert fault_counts.duplicated == 0
    assert logged_calls == len(calls), f"{len(calls)} provider calls, {logged_calls} logged"
    assert not answered_not_done, f"answered by the provider but not shown: {answered_not_done}"
    assert unsettled == 0
    assert stack.http_500 == 0
    visitor.close()


LONG_REPLY = " ".join(
    f"Refunds under plan {n} are paid within fourteen days of the claim." for n in range(1, 41)
)


def test_stop_pressed_while_redis_is_down_stops_the_answer_and_charges_only_what_was_generated(
    fault_stack, fake_provider, private_redis, fault_counts
):
    """Redis stops while an answer streams in, and the visitor presses Stop. The flag cannot be
    written to Redis and the worker has lost its stream, so the Stop travels on the request's row:
    the partial answer is kept, marked cancelled and charged for what was generated. Neither a
    server error nor an answer that runs to its end (and its full cost)."""
    started = time.monotonic()
    question = "How are refunds paid under each plan?"
    fake_provider.script(path="/v1/messages", reply=LONG_REPLY, delta_delay=0.1)
    stack = fault_stack(
        "redis-down-stop",
        REDIS_URL=private_redis.url,
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake_provider.base_url,
        AI_FALLBACK_TO_LOCAL="false",
        AI_REVIEW_WEAK_GROUNDING="false",
    )
    visitor = stack.visitor()
    asked = visitor.ask(question)
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["id"]

    def streamed_events() -> int:
        client = private_redis.client()
        keys = list(client.scan_iter(match=f"*:stream:{request_id}"))
        return sum(client.xlen(k) for k in keys)

    wait_for(
        lambda: streamed_events() >= 3,
        timeout=60,
        message=f"the answer never started streaming:\n{stack.worker_log()}",
    )
    private_redis.stop()
    stopped = visitor.cancel(request_id)
    stop_at = time.monotonic()
    assert stopped.status_code == 202, stopped.text
    request = wait_for(
        lambda: AIRequest.objects.filter(pk=request_id).exclude(status=AIRequest.Status.PROCESSING).first(),
        timeout=60,
        message=f"the request never ended:\n{stack.worker_log()}",
    )
    ended_after = time.monotonic() - stop_at
    private_redis.start()
    wait_for(lambda: visitor.healthz().status_code == 200, timeout=60, message="/healthz never recovered")
    stack.run_beat_task("ai_core.recover_stalled_requests")  # settles the hold Redis refused meanwhile
    reservation = BudgetReservation.objects.filter(request_id=request_id)
    wait_for(lambda: reservation.filter(settled_at__isnull=False).exists(), timeout=60,
             message=f"the hold was never settled:\n{stack.worker_log()}")  # fmt: skip

    (log,) = LLMUsageLog.objects.filter(request_id=request_id)
    fault_counts.tally([request.status])
    fault_counts.http_500 = stack.http_500
    fault_counts.seconds = time.monotonic() - started
    fault_counts.notes.append(
        f"Stop with Redis down: HTTP {stopped.status_code}; ended {request.status} {ended_after:.1f} s later, "
        f"{len(request.result.split())} of {len(LONG_REPLY.split())} words kept, {log.output_tokens} output tokens charged"
    )
    assert (request.status, request.error_code) == (AIRequest.Status.CANCELLED, "stopped"), stack.worker_log()
    assert request.result and len(request.result) < len(LONG_REPLY) / 2
    assert 0 < log.output_tokens < len(LONG_REPLY.split()) / 2  # charged for what was generated
    assert reservation.get().actual_tokens == log.input_tokens + log.output_tokens
    assert stack.http_500 == 0
    visitor.close()
