"""Celery tasks of the AI engine. Thin adapters: they parse ids and call one service."""

from __future__ import annotations

import json
import os
import socket
import time

import redis
from celery import shared_task
from django.conf import settings


@shared_task(name="ai_core.heartbeat", ignore_result=True, soft_time_limit=10, time_limit=15)
def heartbeat(key: str) -> None:
    """Write which worker ran this into Redis: the cheapest end-to-end proof that tasks execute."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    payload = {"hostname": socket.gethostname(), "pid": os.getpid(), "at": time.time()}
    client.set(f"lectern:heartbeat:{key}", json.dumps(payload), ex=300)
