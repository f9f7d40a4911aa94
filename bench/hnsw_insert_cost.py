"""What a wider HNSW build search costs each insert: ef_construction 64 against 128, side by side.

A chunk written to the index is linked into the graph by a search ``ef_construction`` wide, so
migration rag 0009 (64 → 128) makes every insert search more. This bench puts a number on it for
the writes indexing does: one page's chunks in one transaction.

Two scratch tables get the same synthetic vectors (``rag_retrieval.Generator``, 384 dims), each
an HNSW halfvec cosine index, m 16, one at ef_construction 64 and one at 128 (builds timed). Then
``--batches`` times, a batch of ``--batch-size`` fresh vectors is inserted into each table by one
multi-row INSERT (as ``bulk_create`` writes a page's chunks), rolled back, the order of the two
tables alternating. Rolled-back rows leave dead entries in both graphs alike. Prints p50/p95 ms
per batch and the ratio. Use a scratch database; the tables are dropped at the end:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/<db> \\
      .venv/bin/python bench/hnsw_insert_cost.py [--rows 100000] [--batches 200] [--batch-size 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from pgvector import HalfVector
from pgvector.psycopg import register_vector

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rag_retrieval import Generator  # noqa: E402

SETTINGS = (64, 128)
TABLE = "bench_hnsw_efc{}"


def connect() -> psycopg.Connection:
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("DATABASE_URL must name a scratch database (see the docstring)")
    raw = psycopg.connect(url, autocommit=True)
    register_vector(raw)
    return raw


def load(raw: psycopg.Connection, vectors: np.ndarray, maintenance_work_mem: str) -> dict[int, float]:
    raw.execute(f"SET maintenance_work_mem = '{maintenance_work_mem}'")
    builds = {}
    for efc in SETTINGS:
        table = TABLE.format(efc)
        raw.execute(f"DROP TABLE IF EXISTS {table}")
        raw.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, embedding halfvec(384) NOT NULL)")
        with raw.cursor().copy(f"COPY {table} (embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["halfvec"])
            for vector in vectors:
                copy.write_row([HalfVector(vector)])
        raw.execute(f"VACUUM ANALYZE {table}")
        start = time.perf_counter()
        raw.execute(
            f"CREATE INDEX {table}_hnsw ON {table} USING hnsw (embedding halfvec_cosine_ops) "
            f"WITH (m = 16, ef_construction = {efc})"
        )
        builds[efc] = time.perf_counter() - start
        print(f"  {table}: {len(vectors)} rows, HNSW built in {builds[efc]:.1f} s", flush=True)
    return builds


def insert_batch(raw: psycopg.Connection, efc: int, batch: np.ndarray) -> float:
    """One multi-row INSERT, as indexing's ``bulk_create`` writes a page's chunks."""
    values = ", ".join(["(%s)"] * len(batch))
    sql = f"INSERT INTO {TABLE.format(efc)} (embedding) VALUES {values}"  # noqa: S608 - constants only
    start = time.perf_counter()
    with raw.transaction(force_rollback=True):
        raw.execute(sql, [HalfVector(v) for v in batch])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=20, help="rows per transaction (one page's chunks)")
    parser.add_argument("--maintenance-work-mem", default="1GB")
    parser.add_argument("--keep", action="store_true", help="leave the two tables in place")
    args = parser.parse_args()
    if args.rows < 1 or args.batches < 1 or args.batch_size < 1:
        parser.error("--rows, --batches and --batch-size must be positive")
    raw = connect()
    gen = Generator(args.rows)
    builds = load(raw, gen.draw(args.rows), args.maintenance_work_mem)
    timings: dict[int, list[float]] = {efc: [] for efc in SETTINGS}
    try:
        for n in range(args.batches):
            batch = gen.draw(args.batch_size)
            for efc in SETTINGS if n % 2 else reversed(SETTINGS):
                timings[efc].append(insert_batch(raw, efc, batch))
            if n % 50 == 49:
                print(f"    {n + 1}/{args.batches} batches", flush=True)
    finally:
        if not args.keep:
            for efc in SETTINGS:
                raw.execute(f"DROP TABLE IF EXISTS {TABLE.format(efc)}")
    print(f"\n{args.rows} rows, {args.batches} batches of {args.batch_size} inserts, one transaction each")
    print(f"{'ef_construction':>16} {'build s':>8} {'p50 ms':>8} {'p95 ms':>8} {'ms/row':>8}")
    for efc in SETTINGS:
        ms = np.array(timings[efc]) * 1000
        p50 = float(np.percentile(ms, 50))
        print(
            f"{efc:>16} {builds[efc]:>8.1f} {p50:>8.2f} {np.percentile(ms, 95):>8.2f} {p50 / args.batch_size:>8.3f}"
        )
    low, high = (float(np.percentile(np.array(timings[efc]), 50)) for efc in SETTINGS)
    print(
        f"p50 ratio {SETTINGS[1]}/{SETTINGS[0]}: {high / low:.2f}x; build ratio {builds[128] / builds[64]:.2f}x"
    )


if __name__ == "__main__":
    main()
