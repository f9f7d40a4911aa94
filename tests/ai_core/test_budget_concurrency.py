"""50 concurrent visitors against a pool that fits 10, through a real ASGI server, Redis and PostgreSQL."""

import os
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from django.conf import settings

from ai_core.budgets.services import estimate_tokens
from ai_core.models import AIRequest
from ai_core.prompts.registry import get_prompt
from site_config.celery_routes import worker_queues
from tests.conftest import start_web_server, stop_celery_worker

QUESTION = "How long do I have to ask for a refund?"


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_submits_accept_at_most_what_the_budget_fits(tmp_path):
    per_request = estimate_tokens(get_prompt("rag_answer"), {"question": QUESTION})
    web_id = f"{os.environ.get('LECTERN_TEST_ID', 'main')}-web"
    client = redis.Redis.from_url(settings.REDIS_URL)
    stale = list(client.scan_iter(match=f"lectern-test-{web_id}:*"))  # budgets left by an earlier run
    if stale:
        client.delete(*stale)
    server = start_web_server(
        log_path=tmp_path / "web.log",
        extra_env={
            # The anonymous pool is what binds: it fits 10 requests (the site ceiling is far above).
            "AI_BUDGET_ANON_POOL_DAILY_TOKENS": str(per_request * 10 + per_request // 2),
            "AI_ANON_RATE_LIMIT_REQUESTS": "1000",
            "AI_BUDGET_ANON_IP_DAILY_TOKENS": str(per_request * 1000),
            # Its own queue (nobody consumes it) and Redis namespace: this test is about admission.
            "LECTERN_TEST_ID": web_id,
        },
    )
    try:

        def visitor(_):
            with httpx.Client(base_url=server.url, timeout=30) as http:
                token = http.get("/api/ai/csrf/").json()["csrf_token"]
                response = http.post(
                    "/api/ai/ask/", json={"question": QUESTION}, headers={"X-CSRFToken": token}
                )
                return response.status_code, response.headers.get("retry-after")

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(visitor, range(50)))
    finally:
        stop_celery_worker(server)
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
            *worker_queues(f"{settings.CELERY_TASK_DEFAULT_QUEUE}-web")
        )
    codes = sorted(code for code, _ in results)
    assert codes.count(202) == 10, (codes, server.log_path.read_text()[-3000:])
    assert codes.count(429) == 40
    assert all(retry_after for code, retry_after in results if code == 429)
    assert AIRequest.objects.count() == 10
