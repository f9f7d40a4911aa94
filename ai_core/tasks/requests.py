"""Celery tasks that run AI requests, and the worker heartbeat. Thin adapters: they parse ids and
call one service. ``acks_late`` and ``reject_on_worker_lost`` come from the global Celery settings
(``site_config/settings/base.py``), not from each task."""

from __future__ import annotations

import json
import logging
import os
import socket
import time

import redis
from celery import shared_task
from celery.exceptions import Retry, SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import InterfaceError, OperationalError

from ai_core import conf
from ai_core.logcontext import log_context
from ai_core.models import AIRequest

logger = logging.getLogger(__name__)

# How many times a delivery that found its open request held by another session is sent again
# (in 4, 8 and 16 s), counted in a message header of its own: these waits are not attempts, and
# must not use up the retries that a provider failure on the same message may need.
LOCK_WAITS = 3
LOCK_WAITS_HEADER = "lectern_lock_waits"


@shared_task(name="ai_core.heartbeat", ignore_result=True, soft_time_limit=10, time_limit=15)
def heartbeat(key: str) -> None:
    """Write which worker ran this into Redis: the cheapest end-to-end proof that tasks execute."""
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
    )
    payload = {"hostname": socket.gethostname(), "pid": os.getpid(), "at": time.time()}
    client.set(f"lectern:heartbeat:{key}", json.dumps(payload), ex=300)


@shared_task(
    bind=True,
    name="ai_core.process_request",
    ignore_result=True,
    soft_time_limit=conf.setting("TASK_SOFT_TIME_LIMIT"),
    time_limit=conf.setting("TASK_TIME_LIMIT"),
    max_retries=conf.setting("TASK_MAX_RETRIES"),
)
def process_ai_request(self, request_id: str) -> None:
    # The id usually arrives in the message headers already; a message queued without them is
    # still tagged.
    with log_context(ai_request_id=request_id):
        _process_ai_request(self, request_id)


@shared_task(
    bind=True,
    name="ai_core.process_system_request",
    ignore_result=True,
    soft_time_limit=conf.setting("TASK_SOFT_TIME_LIMIT"),
    time_limit=conf.setting("TASK_TIME_LIMIT"),
    max_retries=conf.setting("TASK_MAX_RETRIES"),
)
def process_system_request(self, request_id: str) -> None:
    """The same work for a request the site makes for itself (page summaries). A task name of its
    own so the deployment routes it away from visitors' answers (``LECTERN_TASK_WORKLOADS``): a
    re-index that asks for hundreds of summaries must not queue them ahead of a visitor."""
    with log_context(ai_request_id=request_id):
        _process_ai_request(self, request_id)


def _process_ai_request(self, request_id: str) -> None:
    from ai_core.services.processing import LOCKED, RetryableFailure, ai_request_fail, ai_request_process

    final_attempt = self.request.retries >= self.max_retries
    # Provider calls stop a margin before the soft limit, so the task records a clean result.
    margin = conf.setting("TASK_DEADLINE_MARGIN_S")
    deadline = time.monotonic() + max(1.0, self.soft_time_limit - margin) if self.soft_time_limit else None
    attempt = self.request.retries + 1
    logger.info("ai_request processing attempt=%s", attempt)
    try:
        outcome = ai_request_process(
            request_id=request_id, attempt=attempt, final_attempt=final_attempt, deadline=deadline
        )
    except RetryableFailure as failure:
        # Exponential backoff (2, 4, 8 ... s), or the provider's own Retry-After when it sent one.
        # Not ``autoretry_for``: only a retryable failure retries, and Retry-After wins.
        countdown = (
            failure.retry_after
            if failure.retry_after is not None
            else get_exponential_backoff_interval(factor=2, retries=self.request.retries, maximum=60)
        )
        raise self.retry(countdown=min(countdown, 60)) from failure
    except AIRequest.DoesNotExist:
        logger.warning("ai_request %s no longer exists; dropping its task", request_id)
    except SoftTimeLimitExceeded:
        ai_request_fail(request_id=request_id, code="timeout", detail="soft time limit exceeded")
    except (OperationalError, InterfaceError) as err:
        # PostgreSQL dropped out (a restart, a failover): the row cannot even be marked failed
        # now, and a later attempt most likely finds the database back. Without this the request
        # stayed pending or processing until the recovery sweep's next pass.
        if final_attempt:
            raise
        countdown = get_exponential_backoff_interval(factor=2, retries=self.request.retries, maximum=30)
        raise self.retry(countdown=countdown) from err
    except (redis.ConnectionError, redis.TimeoutError) as err:
        # Redis (budgets, breakers, the answer stream) restarted under us: a later attempt will
        # most likely find it back, so only the final attempt fails the visitor's request.
        if not final_attempt:
            _retry_after_redis_error(self, err)
        # The retry could not be queued either (the broker is that Redis): a clean, retryable
        # failure for the visitor now beats an answer that arrives minutes later, if at all.
        ai_request_fail(request_id=request_id, code="unavailable", detail=repr(err))
    except Exception as err:
        ai_request_fail(request_id=request_id, code="internal", detail=repr(err))
        raise
    else:
        if outcome.status == LOCKED:
            _send_again_while_locked(self, request_id)
        logger.info("ai_request processed status=%s skipped=%s", outcome.status, outcome.skipped)


def _lock_waits(task) -> int:
    """How many times this message was sent again for a held lock (0 for every other delivery)."""
    try:
        return max(0, int((task.request.headers or {}).get(LOCK_WAITS_HEADER) or 0))
    except (TypeError, ValueError):
        return 0


def _send_again_while_locked(task, request_id: str) -> None:
    """Another session holds the open request. Dropping this message would leave the request to
    the recovery sweep (``PROCESSING_SILENT_AFTER_S``, 15 minutes) whenever that session belongs
    to a dead worker: the redelivery after a SIGKILL arrives within a second or two, and the dead
    worker's session lives on while its last statement runs. So send it again in 4, 8, 16 s: by
    then that session has ended, or a live worker has finished the request and the message does
    nothing. The third wait leaves the request to the sweep.

    Not ``task.retry``: that counts as an attempt, and three waits would use up the retries a
    provider failure needs (``AI_TASK_MAX_RETRIES``), or make the next delivery the final attempt.
    The message keeps its id, queue and retry count; the waits go in a header, which a worker of
    the previous release ignores."""
    waits = _lock_waits(task)
    if waits >= LOCK_WAITS:
        logger.warning(
            "ai_request %s is still held by another session; leaving it to the recovery sweep", request_id
        )
        return
    countdown = get_exponential_backoff_interval(factor=4, retries=waits, maximum=30)
    logger.info("ai_request %s is held by another session; trying again in %s s", request_id, countdown)
    # What ``task.retry`` sends (the same id, arguments and queue: the one this message came from),
    # with the retry count as it was.
    headers = {**(task.request.headers or {}), LOCK_WAITS_HEADER: waits + 1}
    task.signature_from_request(countdown=countdown, headers=headers).apply_async()


def _retry_after_redis_error(task, err: Exception) -> None:
    """Raise Celery's Retry if the retry could be queued. The broker is usually the same Redis, so
    queueing can fail too; then this returns and the caller decides."""
    try:
        countdown = get_exponential_backoff_interval(factor=4, retries=task.request.retries, maximum=30)
        raise task.retry(countdown=countdown) from err
    except Retry:
        raise
    except Exception:
        logger.warning("could not queue a retry after a Redis error")
