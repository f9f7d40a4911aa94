"""HTTP throughput and latency of the AI request API against a bare Django JSON view, in one run.

A real load generator (``wrk``, Debian's package; ``scripts/bench-tools.sh`` installs it) drives
uvicorn with 2 workers and the production settings (DEBUG off, full middleware stack) on the
scratch database in DATABASE_URL (default ``lectern_bench``; ``make bench`` creates and migrates
it). Three endpoints, with the same cookies and headers:

- bare:   ``GET /healthz/live``: a JSON view that touches neither the database nor Redis;
- submit: ``POST /api/ai/requests/`` -> 202: the real path (JSON validation, prompt lookup, budget
  reservation in Redis, AIRequest + reservation rows, enqueue on commit to the broker);
- poll:   ``GET /api/ai/requests/<id>/`` of the session user's own request.

No Celery worker runs: tasks go to a bench-only queue that is deleted afterwards, so no model work
happens and only the web side is measured. Budgets are raised through the environment for the
bench server so they never reject the load. Endpoints alternate over the repetitions (A B C, C B A)
to cancel drift on a shared machine. Prints Markdown tables.

    .venv/bin/python bench/http_throughput.py [--duration 10] [--connections 16] [--reps 2]

``--no-pool`` runs the server without ``DATABASE_POOL`` (persistent per-thread connections), which
exhausts PostgreSQL's connections under this load: it starves other users of the same server.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.wrk import WrkRequest, WrkResult, run_wrk  # noqa: E402

QUEUE = "lectern-bench-http"  # nobody consumes it; fixed so an aborted run's leftovers are purged next time
REDIS_PREFIX = "lectern-bench-http"
BENCH_USERNAME = "bench-http"
HUGE_BUDGET = str(10**12)
PERCENTILES = (50, 90, 99)


def _environment(*, pool: bool) -> None:
    """Production settings for this process and the server it starts (they share the secret key,
    so the session created here is valid there)."""
    os.environ.setdefault("DATABASE_URL", "postgres://lectern:lectern@127.0.0.1:5432/lectern_bench")
    os.environ.update(
        # Without the pool, uvicorn runs as shipped before DATABASE_POOL existed: CONN_MAX_AGE 60,
        # one connection per request thread, and PostgreSQL runs out of connections under load.
        DATABASE_POOL="true" if pool else "false",
        DJANGO_SETTINGS_MODULE="site_config.settings.production",
        DJANGO_SECRET_KEY=f"bench-{secrets.token_urlsafe(50)}",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false",  # plain HTTP on loopback; no TLS proxy in front
        DJANGO_LOG_LEVEL="WARNING",
        LECTERN_BENCH="1",
        CELERY_TASK_DEFAULT_QUEUE=QUEUE,
        AI_REDIS_PREFIX=REDIS_PREFIX,
        AI_BUDGET_USER_DAILY_TOKENS=HUGE_BUDGET,
        AI_BUDGET_SITE_DAILY_TOKENS=HUGE_BUDGET,
    )


def _require_migrated_database() -> None:
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as err:
        raise SystemExit(f"cannot use {os.environ['DATABASE_URL']}: {err}") from err
    if pending:
        raise SystemExit(
            f"{os.environ['DATABASE_URL']} has {len(pending)} unapplied migrations: run "
            "`DATABASE_URL=... .venv/bin/python manage.py migrate` (or `make bench`, which creates lectern_bench)."
        )


def _purge_redis() -> None:
    """Drop the bench queue (tasks nobody will run) and the bench budget counters."""
    import redis
    from django.conf import settings

    from site_config.celery_routes import worker_queues

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for queue in worker_queues(QUEUE):  # the default queue and each workload's (the asks: visitor)
        broker.delete(queue, f"_kombu.binding.{queue}", *broker.scan_iter(match=f"{queue}\x06*"))
    state = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(state.scan_iter(match=f"{REDIS_PREFIX}:*", count=1000))
    if keys:
        state.delete(*keys)


def _session_cookies(base_url: str) -> tuple[str, str]:
    """A logged-in session (``content_classify`` needs a login) and its CSRF token.

    Returns the ``Cookie`` header value and the ``X-CSRFToken`` value.
    """
    import httpx
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, created = get_user_model().objects.get_or_create(username=BENCH_USERNAME)
    if created:
        user.set_unusable_password()
        user.save()
    client = Client()
    client.force_login(user)
    session = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    # The CSRF cookie is marked Secure in production, so read Set-Cookie rather than a cookie jar.
    response = httpx.get(f"{base_url}/api/ai/csrf/", headers={"Cookie": session}, timeout=10)
    response.raise_for_status()
    name = settings.CSRF_COOKIE_NAME
    (csrf_cookie,) = [
        header.split(";", 1)[0]
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{name}=")
    ]
    return f"{session}; {csrf_cookie}", response.json()["csrf_token"]


def _endpoints(base_url: str) -> list[WrkRequest]:
    import httpx

    cookie, token = _session_cookies(base_url)
    common = {"Cookie": cookie, "X-CSRFToken": token}
    body = '{"prompt_key": "content_classify", "payload": {"text": "When will I be charged for my annual invoice?"}}'
    json_headers = {**common, "Content-Type": "application/json"}
    accepted = httpx.post(f"{base_url}/api/ai/requests/", content=body, headers=json_headers, timeout=10)
    if accepted.status_code != 202:
        raise SystemExit(f"submit answered {accepted.status_code}, not 202: {accepted.text}")
    return [
        WrkRequest(name="bare", path="/healthz/live", headers=common, expect_status=200),
        WrkRequest(
            name="submit",
            path="/api/ai/requests/",
            method="POST",
            body=body,
            headers=json_headers,
            expect_status=202,
        ),  # fmt: skip
        WrkRequest(name="poll", path=accepted.json()["poll_url"], headers=common, expect_status=200),
    ]


LABELS = {
    "bare": "bare JSON view `GET /healthz/live`",
    "submit": "submit `POST /api/ai/requests/` (202)",
    "poll": "poll `GET /api/ai/requests/<id>/`",
}


def summarize(
    endpoints: list[WrkRequest],
    runs: dict[str, list[WrkResult]],
    *,
    title: str,
) -> str:
    """The Markdown table: means over repetitions, ratios against the bare view."""
    mean_rps = {name: statistics.mean(r.requests_per_s for r in results) for name, results in runs.items()}
    mean_latency = {
        name: {p: statistics.mean(r.latency_ms[p] for r in results) for p in PERCENTILES}
        for name, results in runs.items()
    }
    lines = [
        f"\n{title}",
        "| endpoint | req/s | p50 ms | p90 ms | p99 ms | non-2xx | unexpected status | socket errors "
        "| req/s vs bare | p50 vs bare |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for endpoint in endpoints:
        results = runs[endpoint.name]
        latency = mean_latency[endpoint.name]
        lines.append(
            f"| {LABELS.get(endpoint.name, endpoint.name)} | {mean_rps[endpoint.name]:.0f} "
            f"| {latency[50]:.2f} | {latency[90]:.2f} | {latency[99]:.2f} "
            f"| {sum(r.non_2xx_3xx for r in results)} "
            f"| {sum(r.unexpected(endpoint.expect_status) for r in results)} "
            f"| {sum(r.errors for r in results)} "
            f"| {mean_rps[endpoint.name] / mean_rps['bare']:.2f}x "
            f"| {latency[50] / mean_latency['bare'][50]:.2f}x |"
        )
    return "\n".join(lines)


_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu(web_pid: int) -> dict[str, float]:
    """CPU seconds so far of every process on the machine, grouped: the web server (uvicorn and
    its workers), PostgreSQL, Redis, and everything else. Read from /proc, so it needs no
    library; a process that exits between two readings loses its share (the pool keeps the
    database backends alive for the whole run)."""
    stats: dict[int, tuple[str, int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        stats[int(entry)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS)
    web_tree, grew = {web_pid}, True
    while grew:
        children = {pid for pid, (_, ppid, _) in stats.items() if ppid in web_tree} - web_tree
        web_tree |= children
        grew = bool(children)
    groups = {"web": 0.0, "postgres": 0.0, "redis": 0.0, "other": 0.0}
    for pid, (comm, _, cpu) in stats.items():
        group = (
            "web"
            if pid in web_tree
            else "postgres"
            if comm.startswith("postgres")
            else "redis"
            if comm.startswith("redis")
            else "other"
        )
        groups[group] += cpu
    return groups


def _timed_run(*, web_pid: int, **wrk_options) -> tuple[WrkResult, str, dict[str, float]]:
    """One wrk run, with the CPU each process group spent during it (wrk's own from this
    process's child times: it is a child of this one)."""
    before, children_before = _process_cpu(web_pid), os.times()
    result, raw = run_wrk(**wrk_options)
    after, children_after = _process_cpu(web_pid), os.times()
    cpu = {group: max(0.0, after[group] - before[group]) for group in before}
    cpu["wrk"] = (children_after.children_user + children_after.children_system) - (
        children_before.children_user + children_before.children_system
    )
    cpu["other"] = max(0.0, cpu["other"] - cpu["wrk"])  # a finished child is not in /proc anyway
    return result, raw, cpu


def summarize_cpu(endpoints: list[WrkRequest], cpu: dict[str, list[dict[str, float]]], runs) -> str:
    """Machine CPU per request, by process group, summed over an endpoint's timed runs."""
    groups = ("web", "postgres", "redis", "wrk", "other")
    lines = [
        "CPU per request (ms, all cores; 'other' is the rest of the machine, this script included):",
        "| endpoint | " + " | ".join(groups) + " | total |",
        "|---|" + "---|" * (len(groups) + 1),
    ]
    for endpoint in endpoints:
        requests = sum(r.requests for r in runs[endpoint.name]) or 1
        per = {g: 1000 * sum(c[g] for c in cpu[endpoint.name]) / requests for g in groups}
        lines.append(
            f"| {LABELS.get(endpoint.name, endpoint.name)} | "
            + " | ".join(f"{per[g]:.2f}" for g in groups)
            + f" | {sum(per.values()):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=2, help="runs per endpoint, order alternated")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of untimed load per endpoint first")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--no-pool", action="store_true", help="persistent per-thread connections instead of DATABASE_POOL"
    )
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `bash scripts/bench-tools.sh` (Debian's 'wrk' package).")
    _environment(pool=not args.no_pool)
    import django

    django.setup()
    _require_migrated_database()

    import redis
    from django.conf import settings

    from ai_core.models import AIRequest
    from site_config.celery_routes import worker_queues
    from tests.conftest import start_web_server, stop_celery_worker

    _purge_redis()
    load_before = os.getloadavg()[0]
    logs = Path(tempfile.mkdtemp(prefix="lectern-bench-http-"))
    mine = AIRequest.objects.filter(user__username=BENCH_USERNAME)
    rows_start = mine.count()
    web = start_web_server(log_path=logs / "web.log", workers=args.workers)
    try:
        try:
            endpoints = _endpoints(web.url)
            options = {"base_url": web.url, "threads": args.threads, "connections": args.connections}
            for endpoint in endpoints:
                run_wrk(request=endpoint, duration_s=args.warmup, script_dir=logs, **options)
            rows_measured_from = mine.count()
            runs: dict[str, list[WrkResult]] = {}
            cpu: dict[str, list[dict[str, float]]] = {}
            started = time.monotonic()
            for rep in range(args.reps):
                for endpoint in endpoints if rep % 2 == 0 else endpoints[::-1]:
                    result, raw, spent = _timed_run(
                        web_pid=web.pid,
                        request=endpoint,
                        duration_s=args.duration,
                        script_dir=logs,
                        **options,
                    )
                    (logs / f"{endpoint.name}-{rep}.txt").write_text(raw)
                    runs.setdefault(endpoint.name, []).append(result)
                    cpu.setdefault(endpoint.name, []).append(spent)
            elapsed = time.monotonic() - started
            load_after = os.getloadavg()[0]
        finally:
            stop_celery_worker(web)
        rows_end = mine.count()
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        queued = sum(broker.llen(queue) for queue in worker_queues(QUEUE))
    finally:
        mine.delete()
        _purge_redis()

    database = "no pool: CONN_MAX_AGE, a connection per request thread" if args.no_pool else "DATABASE_POOL"
    title = (
        f"HTTP throughput: wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
        f"{args.reps} runs per endpoint (means), uvicorn {args.workers} workers, production settings, {database}; "
        f"1-min load average {load_before:.1f} before, {load_after:.1f} after"
    )
    print(summarize(endpoints, runs, title=title))
    print()
    print(summarize_cpu(endpoints, cpu, runs))
    submit_202 = sum(r.statuses.get(202, 0) for r in runs["submit"])
    print(
        f"\nSubmit path check: wrk counted {submit_202} responses 202 in the timed runs, which stored "
        f"{rows_end - rows_measured_from} AIRequest rows (a run's last in-flight requests complete "
        f"uncounted). Whole run incl. warm-up: {rows_end - rows_start} rows and {queued} task messages "
        f"on the unconsumed queue {QUEUE!r}, all deleted again."
    )
    print(f"Timed runs took {elapsed:.0f} s; raw wrk reports and the server log are in {logs}")


if __name__ == "__main__":
    main()
