"""In-process cost of a submit (``POST /api/ai/requests/`` -> 202) against the bare JSON view.

The Django test client (no network, no server) under cProfile with process time, production
settings, a logged-in session, on the scratch database in DATABASE_URL (default
``lectern_bench``, as ``bench/http_throughput.py``). Tasks go to a queue nobody consumes, deleted
afterwards with the bench's rows and budget counters. Prints the CPU per request and the share
of a submit's CPU spent under each step (cProfile's cumulative time of the function named), so a
change to one step can be measured before and after:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
        .venv/bin/python bench/submit_profile.py [--submits 300] [--top 0]

``--top N`` also prints cProfile's N dearest functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_throughput import BENCH_USERNAME, QUEUE, _environment, _purge_redis  # noqa: E402

BODY = (
    '{"prompt_key": "content_classify", "payload": {"text": "When will I be charged for my annual invoice?"}}'
)

# (label, module path fragment, function name): cProfile's cumulative time under each.
STEPS = (
    ("session + user load (2 SELECTs)", "contrib/auth/__init__.py", "get_user"),
    ("  of which the session SELECT", "contrib/sessions/backends/db.py", "load"),
    ("site lookup (SELECT)", "content/visibility.py", "site_id_for_host"),
    (
        "budget scopes (BudgetOverride SELECT before the Redis copy)",
        "ai_core/budgets/services.py",
        "scopes_for",
    ),
    ("budget reserve Lua (Redis; reads the override copy)", "ai_core/budgets/ledger.py", "reserve"),
    ("AIRequest + reservation INSERT (one statement)", "ai_core/services/rows.py", "insert_together"),
    ("Celery publish (on commit)", "celery/app/task.py", "apply_async"),
)


def _cumulative(stats: pstats.Stats, fragment: str, name: str) -> float:
    total = 0.0
    for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and fragment in filename:
            total += cumulative
    return total


def _measure(client, *, method: str, path: str, count: int, **extra) -> tuple[float, pstats.Stats, int]:
    """CPU ms per request without the profiler, then the same count again under cProfile (its
    overhead inflates every step, so the steps are given as shares of the profiled total too)."""
    from django.db import connection

    statements = []

    def count_statement(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    send = getattr(client, method)
    for _ in range(20):  # warm-up: imports, prompt registry, connection, compiled Lua
        send(path, **extra)
    # Not CaptureQueriesContext: every request start resets the query log (and the pool hands out
    # a connection per request); a wrapper installed on the connection object outlives both.
    with connection.execute_wrapper(count_statement):
        start = time.process_time()
        for _ in range(count):
            response = send(path, **extra)
        cpu = time.process_time() - start
    assert response.status_code in (200, 202), (path, response.status_code, response.content[:300])
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(count):
        send(path, **extra)
    profiler.disable()
    return cpu / count * 1000, pstats.Stats(profiler), len(statements) // count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--submits", type=int, default=300)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()

    _environment(pool=True)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from ai_core.models import AIRequest

    _purge_redis()
    user, created = get_user_model().objects.get_or_create(username=BENCH_USERNAME)
    if created:
        user.set_unusable_password()
        user.save()
    client = Client(enforce_csrf_checks=False, SERVER_NAME="127.0.0.1")
    client.force_login(user)
    mine = AIRequest.objects.filter(user__username=BENCH_USERNAME)
    try:
        bare_ms, _, bare_sql = _measure(client, method="get", path="/healthz/live", count=args.submits)
        submit_ms, stats, submit_sql = _measure(
            client,
            method="post",
            path="/api/ai/requests/",
            count=args.submits,
            data=BODY,
            content_type="application/json",
        )
    finally:
        mine.delete()
        _purge_redis()

    load = os.getloadavg()[0]
    print(
        f"\nIn-process, {args.submits} requests each, cProfile with process time, production settings "
        f"(queue {QUEUE!r}, broker {settings.CELERY_BROKER_URL.split('@')[-1]}); 1-min load average {load:.1f}"
    )
    print("| request | CPU ms/request | SQL statements/request |")
    print("|---|---|---|")
    print(f"| bare `GET /healthz/live` | {bare_ms:.2f} | {bare_sql} |")
    print(f"| submit `POST /api/ai/requests/` | {submit_ms:.2f} | {submit_sql} |")
    total_s = stats.total_tt  # type: ignore[attr-defined]
    print("\n| step of a submit | CPU ms/submit (under cProfile) | share of profiled submit CPU |")
    print("|---|---|---|")
    for label, fragment, name in STEPS:
        seconds = _cumulative(stats, fragment, name)
        print(f"| {label} | {seconds / args.submits * 1000:.2f} | {seconds / total_s:.0%} |")
    print(f"| (whole submit, under cProfile) | {total_s / args.submits * 1000:.2f} | 100% |")
    if args.top:
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
