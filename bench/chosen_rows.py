"""The last statement of ``retrieve()``: the chosen chunks and their excerpts, as it runs now (one
prepared statement, ``selectors._chosen_rows``) against the same query through the ORM (a
queryset with ``defer`` and a ``ts_headline`` annotation, as it ran before), interleaved.

Each round draws ``--chosen`` chunks at random from one scope of the database in DATABASE_URL
(any database with chunks: ``bench/rag_retrieval.py --keep`` leaves 100k), fetches them both
ways in alternating order, and builds what ``RetrievedChunk`` reads (anchor URL, excerpt, PDF
page, block ids); both ways must return the same. Prints p50 and p95 per way and their ratio:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
        .venv/bin/python bench/chosen_rows.py [--rounds 400] [--chosen 5]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models.expressions import RawSQL  # noqa: E402

from ai_core.rag import selectors  # noqa: E402
from ai_core.rag.models import KnowledgeChunk  # noqa: E402

QUESTION = "how do I install a package from the command line"
CONFIG = "english"
_TABLE = KnowledgeChunk._meta.db_table


def through_orm(ids: list[int]) -> list[tuple]:
    snippet = RawSQL(  # noqa: S611
        f'ts_headline(%s::regconfig, "{_TABLE}"."text", plainto_tsquery(%s::regconfig, %s), '  # noqa: S608
        '\'MaxWords=35, MinWords=15, StartSel="", StopSel="", HighlightAll=false\')',
        [CONFIG, CONFIG, QUESTION],
    )
    rows = (
        KnowledgeChunk.objects.filter(pk__in=ids)
        .defer("embedding", "search_vector")
        .annotate(snippet=snippet)
    )
    return sorted((r.pk, r.anchor_url, r.snippet or "", r.page, tuple(r.block_ids)) for r in rows)


def prepared(ids: list[int]) -> list[tuple]:
    rows = selectors._chosen_rows(ids, query=QUESTION, config=CONFIG)
    return sorted(
        (pk, r.anchor_url, snippet, r.page, tuple(r.block_ids)) for pk, (r, snippet) in rows.items()
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--chosen", type=int, default=5, help="chunks per question (TOP_K)")
    args = parser.parse_args()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT site_id, locale FROM {_TABLE} LIMIT 1")  # noqa: S608
        scope = cursor.fetchone()
        if scope is None:
            sys.exit("no chunks in this database: load some first (bench/rag_retrieval.py --keep)")
        cursor.execute(
            f"SELECT id FROM {_TABLE} WHERE site_id IS NOT DISTINCT FROM %s AND locale = %s",  # noqa: S608
            list(scope),
        )
        pool = [pk for (pk,) in cursor.fetchall()]
    rng = random.Random(3)
    ways = {"through the ORM (before)": through_orm, "prepared statement (now)": prepared}
    times: dict[str, list[float]] = {name: [] for name in ways}
    warm = min(20, args.rounds // 10)
    for round_ in range(args.rounds + warm):
        ids = rng.sample(pool, min(args.chosen, len(pool)))
        order = list(ways.items())
        if round_ % 2:
            order.reverse()
        results = []
        for name, way in order:
            start = time.perf_counter()
            results.append(way(ids))
            if round_ >= warm:
                times[name].append((time.perf_counter() - start) * 1000)
        if results[0] != results[1]:
            sys.exit(f"the two ways differ for chunks {ids}")
        if round_ % 100 == 0:
            print(f"  round {round_}/{args.rounds + warm}", file=sys.stderr)
    print(f"\n{args.rounds} questions, {args.chosen} chunks each, scope {scope}, {len(pool):,} chunks in it")
    print(f"{'way':<28} {'p50 ms':>8} {'p95 ms':>8}")
    for name, values in times.items():
        print(f"{name:<28} {pct(values, 0.5):>8.2f} {pct(values, 0.95):>8.2f}")
    before, now = (pct(values, 0.5) for values in times.values())
    print(f"ratio of p50s (now / before): {now / before:.2f}")


if __name__ == "__main__":
    main()
