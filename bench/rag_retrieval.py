"""Retrieval latency (p50/p95) and HNSW recall@10 against an exact scan, at 10k and 100k chunks.

Synthetic data, stated plainly: 384-dimensional unit vectors drawn around 300 random cluster
centres (real embeddings cluster by topic; uniform random vectors would be an unrealistically hard
case for HNSW), with filler text over a 2,000-word vocabulary for the tsvector side. Queries are
perturbed copies of stored vectors. Rows are written with COPY under a private embedder id, the
384 HNSW index (m=16, ef_construction=64, as in migration 0001) is rebuilt after loading, and
everything is removed at the end. Timings are the SQL only; embedding the question with the local
MiniLM is measured separately. Use a scratch database:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
      .venv/bin/python bench/rag_retrieval.py [--sizes 10000 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.rag.selectors import _text_candidates, _vector_candidates, vector_query_sql  # noqa: E402

EMBEDDER = "bench:synthetic:384"
DIMS = 384
INDEX_SQL = (
    "CREATE INDEX rag_chunk_hnsw_384 ON rag_knowledgechunk USING hnsw "
    "((embedding::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE dimensions = 384"
)
COLUMNS = (
    "page_id, position, block_ids, site_id, locale, title, url, heading_path, text, content_hash, "
    "token_estimate, embedder_id, dimensions, embedding, created_at, updated_at"
)


def synthetic_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.normal(size=(300, DIMS))
    vectors = centres[rng.integers(0, 300, size=n)] + rng.normal(scale=0.6, size=(n, DIMS))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def load(vectors: np.ndarray, vocabulary: list[str], rnd: random.Random) -> float:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM rag_knowledgechunk WHERE embedder_id = %s", [EMBEDDER])
        cursor.execute("DROP INDEX IF EXISTS rag_chunk_hnsw_384")
        raw = cursor.cursor
        with raw.copy(f"COPY rag_knowledgechunk ({COLUMNS}) FROM STDIN") as copy:
            for i, vector in enumerate(vectors):
                text = " ".join(rnd.choices(vocabulary, k=80))
                copy.write_row(
                    (2_000_000 + i // 10, i % 10, "{}", 1, "en", f"Bench {i // 10}", f"/bench/{i // 10}/", "",
                     text, f"{i:064x}", 100, EMBEDDER, DIMS, "[" + ",".join(f"{x:.6f}" for x in vector) + "]",
                     "now()", "now()")
                )  # fmt: skip
    return time.monotonic() - started


def build_index() -> float:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(INDEX_SQL)
        cursor.execute("ANALYZE rag_knowledgechunk")
    return time.monotonic() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def exact_top10(vectors: np.ndarray, query: np.ndarray, ids: np.ndarray) -> set[int]:
    return set(ids[np.argsort(-(vectors @ query))[:10]].tolist())


def run_vector(query: np.ndarray, *, ef_search: int, exact: bool = False) -> tuple[float, list[int]]:
    literal = "[" + ",".join(f"{x:.6f}" for x in query) + "]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
        cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        if exact:
            cursor.execute("SET LOCAL enable_indexscan = off")
        started = time.perf_counter()
        cursor.execute(vector_query_sql(DIMS), [literal, EMBEDDER, 10])
        rows = cursor.fetchall()
        return time.perf_counter() - started, [r[0] for r in rows]


def run_hybrid(query: np.ndarray, text: str) -> float:
    """Both candidate queries as ``retrieve`` runs them (40 candidates each), without embedding."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        _vector_candidates(
            cursor, query.tolist(), embedder_id=EMBEDDER, scope=("", []), limit=40, ef_search=100
        )
        _text_candidates(cursor, text, embedder_id=EMBEDDER, scope=("", []), limit=40, config="english")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng, rnd = np.random.default_rng(5), random.Random(5)
    vocabulary = [f"w{n}{rnd.choice('aeiou')}x" for n in range(2_000)]
    table = []
    try:
        for size in args.sizes:
            vectors = synthetic_vectors(size, rng)
            load_s = load(vectors, vocabulary, rnd)
            index_s = build_index()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM rag_knowledgechunk WHERE embedder_id = %s ORDER BY id", [EMBEDDER]
                )
                ids = np.array([r[0] for r in cursor.fetchall()])
            picks = rng.integers(0, size, size=args.queries)
            queries = vectors[picks] + rng.normal(scale=0.03, size=(args.queries, DIMS)).astype(np.float32)
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            truth = [exact_top10(vectors, q, ids) for q in queries]
            print(f"{size} chunks: COPY {load_s:.1f}s, HNSW build {index_s:.1f}s", flush=True)
            for ef in (40, 100, 200):
                latencies, recalls = [], []
                for query, expected in zip(queries, truth, strict=True):
                    seconds, got = run_vector(query, ef_search=ef)
                    latencies.append(seconds)
                    recalls.append(len(expected & set(got)) / 10)
                table.append((size, f"HNSW ef_search={ef}", latencies, float(np.mean(recalls))))
            exact = [run_vector(q, ef_search=100, exact=True)[0] for q in queries[:20]]
            table.append((size, "exact scan (no index)", exact, 1.0))
            hybrid = [run_hybrid(q, " ".join(rnd.choices(vocabulary, k=6))) for q in queries]
            table.append((size, "hybrid: vector + full text", hybrid, float("nan")))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM rag_knowledgechunk WHERE embedder_id = %s", [EMBEDDER])
            cursor.execute("DROP INDEX IF EXISTS rag_chunk_hnsw_384")
            cursor.execute(INDEX_SQL)
    embed = []
    embedder = providers.embedder()
    embedder.embed(["warm up"])
    for n in range(30):
        started = time.perf_counter()
        embedder.embed([f"How long do you keep invoices for account number {n}?"])
        embed.append(time.perf_counter() - started)
    print(f"\n{'chunks':>7} {'query':<28} {'p50 ms':>7} {'p95 ms':>7} {'recall@10':>9}")
    for size, name, latencies, recall in table:
        recall_text = "—" if recall != recall else f"{recall:.3f}"
        print(
            f"{size:>7} {name:<28} {pct(latencies, 0.5) * 1000:>7.1f} {pct(latencies, 0.95) * 1000:>7.1f} "
            f"{recall_text:>9}"
        )
    print(
        f"{'':>7} {'embed question (MiniLM)':<28} {pct(embed, 0.5) * 1000:>7.1f} {pct(embed, 0.95) * 1000:>7.1f}"
    )


if __name__ == "__main__":
    main()
