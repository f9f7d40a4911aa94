"""Celery tasks of the AI engine. Thin adapters: they parse ids and call one service."""

from __future__ import annotations

import json
import logging
import os
import socket
import time

import redis
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from ai_core import conf

logger = logging.getLogger(__name__)


@shared_task(name="ai_core.heartbeat", ignore_result=True, soft_time_limit=10, time_limit=15)
def heartbeat(key: str) -> None:
    """Write which worker ran this into Redis: the cheapest end-to-end proof that tasks execute."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    payload = {"hostname": socket.gethostname(), "pid": os.getpid(), "at": time.time()}
    client.set(f"lectern:heartbeat:{key}", json.dumps(payload), ex=300)


@shared_task(
    bind=True,
    name="ai_core.process_request",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=conf.setting("TASK_SOFT_TIME_LIMIT"),
    time_limit=conf.setting("TASK_TIME_LIMIT"),
    max_retries=conf.setting("TASK_MAX_RETRIES"),
)
def process_ai_request(self, request_id: str) -> None:
    from ai_core.services.processing import RetryableFailure, ai_request_fail, ai_request_process

    try:
        ai_request_process(request_id=request_id, attempt=self.request.retries + 1)
    except RetryableFailure as failure:
        if self.request.retries >= self.max_retries:
            code = "timeout" if failure.error.code == "timeout" else "unavailable"
            ai_request_fail(request_id=request_id, code=code, detail=str(failure))
            return
        # Exponential backoff, or the provider's own Retry-After when it sent one.
        countdown = (
            failure.retry_after if failure.retry_after is not None else 2 ** (self.request.retries + 1)
        )
        raise self.retry(countdown=min(countdown, 60)) from failure
    except SoftTimeLimitExceeded:
        ai_request_fail(request_id=request_id, code="timeout", detail="soft time limit exceeded")
    except Exception as err:
        ai_request_fail(request_id=request_id, code="internal", detail=repr(err))
        raise
