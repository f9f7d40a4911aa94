"""Cost of one ``/metrics`` scrape's database part as the usage log grows.

The collector (ai_core/metrics.py) aggregates over every ``LLMUsageLog`` and ``AIRequest`` row at
scrape time. This loads synthetic rows with ``generate_series`` (half as many requests as usage
rows, 8 prompt keys, 4 models, latencies spread over 0-60 s), times the database source a few
times per size, and removes its rows at the end (they are tagged ``bench_metrics``). Use a scratch
database:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
      .venv/bin/python bench/metrics_scrape.py [--sizes 100000 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from ai_core.metrics import database_families  # noqa: E402

TAG = "bench_metrics"

USAGE_SQL = """
INSERT INTO ai_core_llmusagelog
    (operation, prompt_key, prompt_version, provider, model, input_tokens, output_tokens,
     cache_read_tokens, cache_write_tokens, latency_ms, cost_usd, outcome, error_code, attempt,
     subject_type, subject_id, created_at)
SELECT 'generation', %(tag)s || (n %% 8), 1, 'bench', 'bench-model-' || (n %% 4), 500 + n %% 1000,
       n %% 200, 0, 0, (n::bigint * 7919) %% 60000, 0.0001, CASE WHEN n %% 50 = 0 THEN 'error' ELSE 'ok' END,
       CASE WHEN n %% 50 = 0 THEN 'overloaded' ELSE '' END, 1, '', '', now()
FROM generate_series(1, %(rows)s) AS n
"""

REQUEST_SQL = """
INSERT INTO ai_core_airequest
    (id, session_key, prompt_key, prompt_version, payload, status, result, error, error_code,
     provider, model_used, citations, cited_chunk_ids, attempts, created_at, updated_at, finished_at)
SELECT gen_random_uuid(), %(tag)s, %(tag)s || (n %% 8), 1, '{}', 'done', '', '', '', '', '', '[]', '[]',
       1, now() - interval '1 minute', now(), now() - interval '1 minute' + (n %% 90) * interval '1 second'
FROM generate_series(1, %(rows)s) AS n
"""


def clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ai_core_llmusagelog WHERE provider = 'bench'")
        cursor.execute("DELETE FROM ai_core_airequest WHERE session_key = %s", [TAG])


def load(rows: int) -> float:
    started = time.monotonic()
    clear()
    with connection.cursor() as cursor:
        cursor.execute(USAGE_SQL, {"tag": TAG, "rows": rows})
        cursor.execute(REQUEST_SQL, {"tag": TAG, "rows": rows // 2})
        cursor.execute("ANALYZE ai_core_llmusagelog")
        cursor.execute("ANALYZE ai_core_airequest")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("| usage rows | requests | series | scrape p50 (ms) | scrape max (ms) | load (s) |")
    print("|---:|---:|---:|---:|---:|---:|")
    try:
        for size in args.sizes:
            loaded = load(size)
            database_families()  # warm the buffer cache once, as a periodic scrape would
            timings = []
            for _ in range(args.runs):
                started = time.perf_counter()
                families = database_families()
                timings.append((time.perf_counter() - started) * 1000)
            series = sum(len(family.samples) for family in families)
            print(
                f"| {size:,} | {size // 2:,} | {series} | {statistics.median(timings):.0f} "
                f"| {max(timings):.0f} | {loaded:.1f} |"
            )
    finally:
        clear()


if __name__ == "__main__":
    main()
