import json
import time
import uuid

import pytest

from ai_core.tasks import heartbeat


@pytest.mark.django_db(transaction=True)
def test_a_task_sent_through_redis_runs_in_the_real_worker_process(celery_live, redis_client):
    key = uuid.uuid4().hex
    heartbeat.delay(key)
    deadline = time.monotonic() + 20
    raw = None
    while raw is None and time.monotonic() < deadline:
        raw = redis_client.get(f"lectern:heartbeat:{key}")
        time.sleep(0.05)
    assert raw is not None, celery_live.log_path.read_text()
    ran_in = json.loads(raw)
    assert ran_in["pid"] != __import__("os").getpid()
    assert ran_in["pid"] != celery_live.pid  # prefork: a child of the worker ran it
