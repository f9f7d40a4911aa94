"""Streaming overhead: from the provider starting its answer to the browser-side client reading the
first token, through the real path (SDK in a Celery worker -> Redis Stream -> ASGI SSE relay).

Uses the database in DATABASE_URL (`make bench` points it at a scratch database),
the fake provider server on 127.0.0.1 (first delta sent as soon as the request arrives) and a
real worker and uvicorn. Prints a table of p50/p95 over N questions.

    .venv/bin/python bench/stream_latency.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.dev")
os.environ["LECTERN_BENCH"] = "1"

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402

from tests.conftest import start_celery_worker, start_web_server, stop_celery_worker  # noqa: E402
from tests.fake_provider import FakeProviderServer  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(n: int = 20) -> None:
    fake = FakeProviderServer()
    fake.start()
    queue = f"lectern-bench-{uuid.uuid4().hex[:6]}"
    env = {
        "ANTHROPIC_API_KEY": "sk-ant-bench",
        "ANTHROPIC_BASE_URL": fake.base_url,
        "AI_REDIS_PREFIX": queue,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "AI_ANON_RATE_LIMIT_REQUESTS": "100000",
        "AI_BUDGET_ANON_IP_DAILY_TOKENS": "100000000",
        "AI_BUDGET_ANON_DAILY_TOKENS": "100000000",
        "AI_RESPONSE_CACHE_TTL": "1",
        # The scratch database has no pages, so the answer cannot be grounded; this measures the
        # relay, not the review rules (which would hold an ungrounded answer back).
        "AI_REVIEW_WEAK_GROUNDING": "false",
    }
    os.environ.update(env)
    logs = Path(tempfile.mkdtemp(prefix="lectern-bench-"))
    worker = start_celery_worker(queue=queue, log_path=logs / "worker.log", extra_env=env)
    web = start_web_server(log_path=logs / "web.log", extra_env=env, workers=1)
    overheads, first_tokens = [], []
    try:
        with httpx.Client(base_url=web.url, timeout=60) as http:
            token = http.get("/api/ai/csrf/").json()["csrf_token"]
            for i in range(n + 2):
                fake.reset()
                reply = f"Answer {i}. Refunds take thirty days. Cancellations are free."
                fake.script(path="/v1/messages", reply=reply, delta_delay=0.05)
                submitted = time.time()
                accepted = http.post(
                    "/api/ai/ask/", json={"question": f"Refund question {i}?"}, headers={"X-CSRFToken": token}
                ).json()
                first = None
                with http.stream("GET", accepted["stream_url"]) as response:
                    for line in response.iter_lines():
                        if line.startswith("event: delta") and first is None:
                            first = time.time()
                        if line.startswith("event: done") or line.startswith("event: error"):
                            break
                (call,) = fake.requests_for(path="/v1/messages")
                if i >= 2 and first is not None:  # the first two warm up the worker and connections
                    overheads.append((first - call["time"]) * 1000)
                    first_tokens.append((first - submitted) * 1000)
    finally:
        stop_celery_worker(web)
        stop_celery_worker(worker)
        fake.stop()
    print(
        f"\nStreaming latency over {len(overheads)} questions (fake provider sends its first token at once)"
    )
    print("| measure | p50 ms | p95 ms |")
    print("|---|---|---|")
    print(f"| provider receives request -> client reads first token | {statistics.median(overheads):.1f} "
          f"| {percentile(overheads, 0.95):.1f} |")  # fmt: skip
    print(f"| submit (POST) -> client reads first token | {statistics.median(first_tokens):.1f} "
          f"| {percentile(first_tokens, 0.95):.1f} |")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
