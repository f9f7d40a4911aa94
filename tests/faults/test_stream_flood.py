"""Stream flood: hundreds of answer streams from a few visitors against one live web process.

The attack from issue 13: a visitor asks, then opens stream after stream on the answer (half of
them with a far-future ``Last-Event-ID``) and keeps them open, while everyone else loads pages.
Answers are slow on purpose (the fake provider holds the one request the worker takes; the rest
wait in the queue), so every stream that is let in stays open. What must hold: pages load (200,
no 5xx) at normal speed, the per-session and per-address caps answer 429 with ``Retry-After``, and
no stream costs a database connection (the pool is kept small so that one would show).
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import pytest

from site_config.celery_routes import worker_queues

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

VISITORS = 4
ASKS_PER_VISITOR = 3
ATTEMPTS_PER_VISITOR = 100
PER_SESSION = 40
PER_CLIENT = 100  # all visitors share 127.0.0.1, so this is the cap that binds
FAR_FUTURE = "99999999999999-0"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def browser(base_url: str) -> httpx.AsyncClient:
    """One visitor's browser: its own cookie jar, as many connections as it likes."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=20)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30)


async def visitor_session(http: httpx.AsyncClient, n: int) -> list[str]:
    token = (await http.get("/api/ai/csrf/")).json()["csrf_token"]
    ids = []
    for k in range(ASKS_PER_VISITOR):
        response = await http.post(
            "/api/ai/ask/", json={"question": f"Visitor {n}, question {k}: refunds?"},
            headers={"X-CSRFToken": token},
        )  # fmt: skip
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


async def hold_stream(http, url: str, headers: dict, tally: dict, stop: asyncio.Event) -> None:
    async with http.stream("GET", url, headers=headers, timeout=None) as response:
        tally["statuses"].append(response.status_code)
        if response.status_code != 200:
            await response.aread()
            if response.status_code == 429:
                tally["retry_after"].add(response.headers.get("Retry-After"))
                tally["messages"].add(response.json()["error"]["message"].split(".")[0])
            return
        chunks = response.aiter_raw()
        await chunks.__anext__()  # "retry: 2000": the view has run, the stream is open
        tally["held"] += 1
        await stop.wait()


async def page_loads(http, poll_url: str, seconds: float) -> tuple[list[float], list[int]]:
    latencies, statuses = [], []
    deadline = time.monotonic() + seconds

    async def loop(offset: int) -> None:
        paths = ["/ask/", poll_url, "/healthz/live"]
        n = offset
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = await http.get(paths[n % len(paths)], timeout=30)
            latencies.append((time.monotonic() - started) * 1000)
            statuses.append(response.status_code)
            n += 1

    await asyncio.gather(*(loop(k) for k in range(3)))
    return latencies, statuses


async def flood(base_url: str) -> dict:
    visitors = [browser(base_url) for _ in range(VISITORS)]
    bystander = browser(base_url)
    try:
        sessions = [(http, await visitor_session(http, n)) for n, http in enumerate(visitors)]
        poll_url = f"/api/ai/requests/{(await visitor_session(bystander, VISITORS))[0]}/"
        baseline, _ = await page_loads(bystander, poll_url, 2)
        tally = {"held": 0, "statuses": [], "retry_after": set(), "messages": set()}
        stop = asyncio.Event()
        tasks = []
        for n in range(ATTEMPTS_PER_VISITOR):
            for http, ids in sessions:
                headers = {"Last-Event-ID": FAR_FUTURE} if n % 2 else {}
                url = f"/api/ai/requests/{ids[n % len(ids)]}/stream/"
                tasks.append(asyncio.ensure_future(hold_stream(http, url, headers, tally, stop)))
        deadline = time.monotonic() + 60
        while len(tally["statuses"]) < len(tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        while tally["held"] < tally["statuses"].count(200) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        latencies, page_statuses = await page_loads(bystander, poll_url, 5)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for http in [*visitors, bystander]:
            await http.aclose()
    return {"tally": tally, "attempts": len(tasks), "baseline": baseline, "latencies": latencies,
            "page_statuses": page_statuses}  # fmt: skip


def test_stream_flood(fault_stack, fake_provider, fault_counts):
    started = time.monotonic()
    # The one request the worker takes hangs at the provider; the rest wait in the queue.
    fake_provider.script(path="/v1/messages", latency=15.0, reply="Refunds take 14 days.", times=10_000)
    stack = fault_stack(
        "stream-flood",
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake_provider.base_url,
        AI_FALLBACK_TO_LOCAL="false",
        AI_ANON_RATE_LIMIT_REQUESTS="1000",
        AI_BUDGET_ANON_IP_DAILY_TOKENS="10000000",
        AI_BUDGET_ANON_DAILY_TOKENS="10000000",
        AI_BUDGET_ANON_POOL_DAILY_TOKENS="100000000",
        AI_BUDGET_SITE_DAILY_TOKENS="100000000",
        AI_STREAMS_MAX_PER_SESSION=str(PER_SESSION),
        AI_STREAMS_MAX_PER_CLIENT=str(PER_CLIENT),
        DATABASE_POOL_MAX_SIZE="4",  # a stream that held a connection would starve the pages at once
    )
    result = asyncio.run(flood(stack.web.url))
    stack.redis().delete(*worker_queues(stack.queue))  # the questions were bait; nobody needs their answers

    tally, latencies, pages = result["tally"], result["latencies"], result["page_statuses"]
    statuses = tally["statuses"]
    fault_counts.attempted = result["attempts"]
    fault_counts.completed = tally["held"]
    fault_counts.failed_cleanly = statuses.count(429)
    fault_counts.lost = len(statuses) - statuses.count(200) - statuses.count(429)
    fault_counts.http_500 = sum(s >= 500 for s in statuses) + sum(s >= 500 for s in pages)
    fault_counts.seconds = time.monotonic() - started
    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    fault_counts.notes.append(
        f"{VISITORS} visitors, {result['attempts']} stream attempts: {tally['held']} held open, "
        f"{statuses.count(429)} refused 429 (caps {PER_SESSION}/session, {PER_CLIENT}/address)"
    )
    fault_counts.notes.append(
        f"page loads during the flood: {len(pages)}, p50 {p50:.0f} ms, p95 {p95:.0f} ms "
        f"(before: p50 {statistics.median(result['baseline']):.0f} ms); non-200: {len(pages) - pages.count(200)}"
    )

    assert set(pages) == {200}, sorted(set(pages))
    assert fault_counts.http_500 == 0
    assert tally["held"] == PER_CLIENT  # the address cap, not the pool or the process, set the limit
    assert statuses.count(429) == result["attempts"] - PER_CLIENT
    assert tally["retry_after"] == {"5"}
    assert any("per client address" in m for m in tally["messages"])
    assert p95 < 1000, f"page p95 {p95:.0f} ms with {tally['held']} streams open"
