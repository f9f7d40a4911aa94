"""Stream flood: how many open answer streams one web process holds while pages stay fast.

One uvicorn process (DEBUG off, the full middleware stack, the scratch database in DATABASE_URL, default
``lectern_bench``; ``make bench`` creates and migrates it). No Celery worker runs: questions go to
a bench-only queue nobody consumes, so every request stays pending and every stream on it stays
open, idling on Redis as a stream behind a slow model does. A few anonymous visitors ask questions
and open ``--streams`` SSE connections on them (asyncio + httpx); with all of them open, page loads
(``GET /ask/``, and the poll API, which reads the session and the request row from PostgreSQL) run
for ``--seconds``. The stream caps are raised through the environment for the bench server (the
defaults allow a handful per visitor). Runs with ``DATABASE_POOL`` on and off and prints a table:
streams held, page p50/p95, 5xx count, the web process's RSS before and with the streams.

    .venv/bin/python bench/stream_flood.py [--streams 600] [--visitors 10] [--seconds 15] [--pool on|off|both]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_ID = "bench-streams"
QUEUE = f"lectern-test-{BENCH_ID}"  # nobody consumes it; purged before and after
REDIS_PREFIX = f"lectern-test-{BENCH_ID}"
HUGE = str(10**12)
ASKS_PER_VISITOR = 10


def _environment() -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://lectern:lectern@127.0.0.1:5432/lectern_bench")
    os.environ.update(
        # The test settings: DEBUG off and the full middleware stack like production, but plain
        # static files (production's manifest storage needs collectstatic) and cookies over HTTP.
        # LECTERN_TEST_ID names the unconsumed queue and the Redis prefix.
        DJANGO_SETTINGS_MODULE="site_config.settings.test",
        LECTERN_TEST_ID=BENCH_ID,
        LECTERN_BENCH="1",
        CELERY_TASK_ALWAYS_EAGER="false",
        AI_STREAMS_MAX_PER_SESSION="100000",
        AI_STREAMS_MAX_PER_CLIENT="100000",
        AI_ANON_RATE_LIMIT_REQUESTS="100000",
        AI_BUDGET_ANON_DAILY_TOKENS=HUGE,
        AI_BUDGET_ANON_IP_DAILY_TOKENS=HUGE,
        AI_BUDGET_SITE_DAILY_TOKENS=HUGE,
        AI_BUDGET_ANON_POOL_DAILY_TOKENS=HUGE,
    )


def _raise_open_files_limit(needed: int) -> int:
    """Each stream is a socket in this process and in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, needed))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _purge_redis() -> None:
    import redis
    from django.conf import settings

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(QUEUE, f"_kombu.binding.{QUEUE}")
    state = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(state.scan_iter(match=f"{REDIS_PREFIX}:*", count=1000))
    if keys:
        state.delete(*keys)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cookie(response, name: str) -> str | None:
    # Production marks cookies Secure, so read Set-Cookie instead of relying on a cookie jar over HTTP.
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0]
    return None


async def _visitor(http, index: int) -> tuple[dict[str, str], list[str]]:
    """An anonymous visitor's headers (session + CSRF cookies) and the ids of their pending questions."""
    from django.conf import settings

    csrf = await http.get("/api/ai/csrf/")
    csrf_cookie = _cookie(csrf, settings.CSRF_COOKIE_NAME)
    headers = {"Cookie": csrf_cookie, "X-CSRFToken": csrf.json()["csrf_token"]}
    ids = []
    for n in range(ASKS_PER_VISITOR):
        response = await http.post(
            "/api/ai/ask/", json={"question": f"Visitor {index} question {n}?"}, headers=headers
        )
        if response.status_code != 202:
            raise SystemExit(f"ask answered {response.status_code}: {response.text[:300]}")
        session = _cookie(response, settings.SESSION_COOKIE_NAME)
        if session:
            headers["Cookie"] = f"{csrf_cookie}; {session}"
        ids.append(response.json()["id"])
    return headers, ids


async def _hold_stream(http, url: str, headers: dict, tally: dict, stop: asyncio.Event) -> None:
    """Open one stream and keep it open (reading keep-alives) until ``stop``."""
    try:
        async with http.stream("GET", url, headers=headers, timeout=None) as response:
            if response.status_code != 200:
                tally["refused"] += 1
                tally.setdefault("statuses", []).append(response.status_code)
                return
            chunks = response.aiter_raw()
            if not (await chunks.__anext__()).startswith(b"retry:"):
                tally["refused"] += 1
                return
            tally["held"] += 1

            async def drain() -> None:
                async for _ in chunks:
                    pass

            reader = asyncio.ensure_future(drain())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not reader.done():
                tally["still_open_at_end"] += 1
            reader.cancel()
            stopper.cancel()
    except Exception as err:  # noqa: BLE001 - a bench counts failures instead of stopping
        tally["errors"] += 1
        tally.setdefault("error_kinds", set()).add(type(err).__name__)


async def _page_loads(
    http, headers: dict, poll_url: str, seconds: float, concurrency: int
) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    errors_5xx = 0
    other = 0
    deadline = time.monotonic() + seconds

    async def loop(worker: int) -> None:
        nonlocal errors_5xx, other
        paths = ["/ask/", poll_url]
        n = worker
        while time.monotonic() < deadline:
            path = paths[n % 2]
            n += 1
            started = time.monotonic()
            try:
                response = await http.get(path, headers=headers, timeout=30)
            except Exception:  # noqa: BLE001 - a timeout is a failed page load
                errors_5xx += 1
                continue
            latencies.append((time.monotonic() - started) * 1000)
            if response.status_code >= 500:
                errors_5xx += 1
            elif response.status_code != 200:
                other += 1

    await asyncio.gather(*(loop(w) for w in range(concurrency)))
    return latencies, errors_5xx, other


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


async def _flood(base_url: str, pid: int, args) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http:
        visitors = [await _visitor(http, i) for i in range(args.visitors)]
        rss_before = _rss_mb(pid)
        before_latencies, _, _ = await _page_loads(
            http, visitors[0][0], f"/api/ai/requests/{visitors[0][1][0]}/", 3, 2
        )
        tally = {"held": 0, "refused": 0, "errors": 0, "still_open_at_end": 0}
        stop = asyncio.Event()
        tasks = []
        started = time.monotonic()
        for n in range(args.streams):
            headers, ids = visitors[n % len(visitors)]
            url = f"/api/ai/requests/{ids[(n // len(visitors)) % len(ids)]}/stream/"
            tasks.append(asyncio.ensure_future(_hold_stream(http, url, headers, tally, stop)))
        while (
            tally["held"] + tally["refused"] + tally["errors"] < args.streams
            and time.monotonic() - started < 120
        ):
            await asyncio.sleep(0.2)
        open_seconds = time.monotonic() - started
        rss_streams = _rss_mb(pid)
        headers, ids = visitors[-1]
        latencies, errors_5xx, other = await _page_loads(
            http, headers, f"/api/ai/requests/{ids[0]}/", args.seconds, args.concurrency
        )
        rss_after = _rss_mb(pid)
        stop.set()
        await asyncio.gather(*tasks)
    return {
        "tally": tally,
        "open_seconds": open_seconds,
        "rss_before": rss_before,
        "rss_streams": max(rss_streams, rss_after),
        "page_p50_before": statistics.median(before_latencies),
        "page_p50": statistics.median(latencies) if latencies else float("nan"),
        "page_p95": _percentile(latencies, 0.95),
        "pages": len(latencies),
        "page_5xx": errors_5xx,
        "page_other": other,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--streams", type=int, default=600)
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="page loads measured with all streams open"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="page loads in flight at once")
    parser.add_argument("--pool", choices=["on", "off", "both"], default="both")
    args = parser.parse_args()

    limit = _raise_open_files_limit(args.streams * 2 + 512)
    _environment()
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    from ai_core.models import AIRequest
    from tests.conftest import start_web_server, stop_celery_worker

    rows = []
    for pool in ["on", "off"] if args.pool == "both" else [args.pool]:
        _purge_redis()
        logs = Path(tempfile.mkdtemp(prefix="lectern-bench-streams-"))
        web = start_web_server(
            log_path=logs / "web.log",
            extra_env={"DATABASE_POOL": "true" if pool == "on" else "false"},
            workers=1,
        )
        try:
            result = asyncio.run(_flood(web.url, web.pid, args))
        finally:
            stop_celery_worker(web)
            AIRequest.objects.filter(
                session_key__isnull=False, user__isnull=True, payload__question__startswith="Visitor "
            ).delete()
            _purge_redis()
        rows.append((pool, result, logs))

    print(
        f"\nStream flood: 1 uvicorn process, DEBUG off, {args.visitors} anonymous visitors, "
        f"{args.streams} streams on pending requests (no worker), then {args.seconds:.0f} s of page loads "
        f"(`GET /ask/` and the poll API, {args.concurrency} in flight); open-files limit {limit}; "
        f"1-min load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| DATABASE_POOL | streams held | refused / errors | held at end | page p50 ms (no streams) "
        "| page p50 ms | page p95 ms | pages | 5xx | web RSS MB (no streams -> streams) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for pool, r, _ in rows:
        t = r["tally"]
        print(
            f"| {pool} | {t['held']} | {t['refused']} / {t['errors']} | {t['still_open_at_end']} "
            f"| {r['page_p50_before']:.1f} | {r['page_p50']:.1f} | {r['page_p95']:.1f} | {r['pages']} "
            f"| {r['page_5xx']} | {r['rss_before']:.0f} -> {r['rss_streams']:.0f} |"
        )
        if t.get("error_kinds") or t.get("statuses"):
            print(
                f"  ({pool}: errors {sorted(t.get('error_kinds', []))}, refused statuses {sorted(set(t.get('statuses', [])))})"
            )
    print(f"Server logs: {', '.join(str(logs) for _, _, logs in rows)}")


if __name__ == "__main__":
    main()
