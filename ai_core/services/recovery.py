"""Finding requests whose task message was lost, and queueing them again.

A request's only link to a worker is its Celery message in Redis. The message can vanish: Redis
restarted without its append-only file, the broker was unreachable at the moment the request was
committed, a Redis failover dropped the unacked set, or the broker connection broke while a worker
held the message without having started it: Celery drops the requests it reserved on a connection
loss, and Redis keeps the message in its unacked set until the visibility timeout has passed
(tests/faults/test_redis_restart.py). The row then stays PENDING (or PROCESSING) forever, or
until that redelivery, and the visitor's budget stays reserved. A beat task sweeps for such rows.

Queueing twice is harmless: the task claims a request with a conditional UPDATE under an advisory
lock, so a duplicate message for a request that is already done does nothing. A Redis key per
request still limits re-queueing to once per ``REQUEUE_AFTER_S``, so a merely long queue is not
flooded with copies.

The sweep also settles budget reservations left open on requests that are already finished (or
held for review): a request's end and its settlement commit together, but a settlement that Redis
refused (see ``processing._settle``), or one from before that was so, would otherwise hold the
visitor's tokens until the day ends.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import redis
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ai_core import conf
from ai_core.budgets.models import BudgetReservation
from ai_core.budgets.services import budget_settle
from ai_core.models import AIRequest
from ai_core.resilience.runtime import redis_key, shared_redis
from ai_core.services.processing import ai_request_fail

__all__: list[str] = []

logger = logging.getLogger(__name__)

# Bounded work per sweep; the next sweep takes the rest.
SWEEP_LIMIT = 500


@dataclass(kw_only=True)
class RecoveryReport:
    requeued: int = 0
    expired: int = 0
    already_requeued: int = 0
    settled: int = 0


def _recovery_setting(name: str) -> float:
    return float(conf.setting("RECOVERY")[name])


def ai_requests_recover_stalled(*, now: dt.datetime | None = None) -> RecoveryReport:
    """Queue again the open requests nobody is working on; fail the ones too old to be useful.

    PENDING past ``REQUEUE_AFTER_S``: its message never arrived or was lost. PROCESSING untouched
    for longer than the hard time limit plus the broker's visibility timeout: the worker died and
    Redis has no unacked copy left to redeliver. Either, older than ``EXPIRE_AFTER_S``: nobody is
    waiting for the answer any more, so it fails cleanly (code ``expired``) and the budget is settled.
    """
    from ai_core.selectors.visibility import SYSTEM_SESSION_KEY
    from ai_core.tasks.requests import process_ai_request, process_system_request

    now = now or timezone.now()
    report = RecoveryReport()
    requeue_after = _recovery_setting("REQUEUE_AFTER_S")
    expire_after = _recovery_setting("EXPIRE_AFTER_S")
    processing_silent_after = _recovery_setting("PROCESSING_SILENT_AFTER_S")

    expire_cutoff = now - dt.timedelta(seconds=expire_after)
    open_statuses = [AIRequest.Status.PENDING, AIRequest.Status.PROCESSING]
    for request_id in AIRequest.objects.filter(
        status__in=open_statuses, created_at__lt=expire_cutoff
    ).values_list("pk", flat=True)[:SWEEP_LIMIT]:
        ai_request_fail(request_id=str(request_id), code="expired", detail="no worker finished it in time")
        report.expired += 1

    stalled = AIRequest.objects.filter(
        Q(status=AIRequest.Status.PENDING, created_at__lt=now - dt.timedelta(seconds=requeue_after))
        | Q(
            status=AIRequest.Status.PROCESSING,
            updated_at__lt=now - dt.timedelta(seconds=processing_silent_after),
        ),
        created_at__gte=expire_cutoff,
    ).values_list("pk", "session_key")[:SWEEP_LIMIT]
    client = shared_redis()
    for request_id, session_key in stalled:
        # SET NX: one re-queue per interval, whichever beat process or worker runs the sweep.
        if not client.set(redis_key("requeued", request_id), 1, nx=True, ex=max(1, int(requeue_after))):
            report.already_requeued += 1
            continue
        logger.warning("ai_request %s stalled: queueing it again", request_id)
        task = process_system_request if session_key == SYSTEM_SESSION_KEY else process_ai_request
        task.delay(str(request_id))
        report.requeued += 1
    report.settled = budget_reservations_settle_finished()
    return report


def budget_reservations_settle_finished() -> int:
    """Settle the open reservations of requests that no longer run. Settling is idempotent (it
    claims ``settled_at`` with a conditional UPDATE), so a worker settling the same request at the
    same moment charges it once. Returns how many this sweep settled."""
    finished = [*AIRequest.TERMINAL, AIRequest.Status.AWAITING_REVIEW]
    open_ids = BudgetReservation.objects.filter(
        settled_at__isnull=True, request__status__in=finished
    ).values_list("request_id", flat=True)[:SWEEP_LIMIT]
    settled = 0
    for request_id in open_ids:
        try:
            with transaction.atomic():  # a Redis error undoes the claim, for the next sweep to retry
                if budget_settle(request_id=request_id) is not None:
                    settled += 1
        except redis.RedisError:
            logger.warning("budget counters unreachable: open reservations are left for the next sweep")
            break
    if settled:
        logger.warning("settled %s budget reservation(s) left open on finished requests", settled)
    return settled
