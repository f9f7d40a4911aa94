"""Retrieval latency (p50/p95), HNSW recall@10, build time and size: vector vs halfvec, 100k to 1M chunks.

Synthetic data, stated plainly. Embeddings of real text are not uniform in 384 dimensions: they
sit near a low-dimensional manifold, grouped by topic and sub-topic, with one direction common to
all of them (MiniLM's cosine between unrelated texts is ~0.1, not 0). The generator copies that
shape: 100 topics, a sub-topic per 500 chunks, drawn in a 64-dimensional latent space, projected to
384 dimensions, plus isotropic noise and a shared offset; unit length. Uniform random vectors
would be a far harder (and unrealistic) case for HNSW; near-duplicate copies of a few real
embeddings a far easier one. Questions are fresh draws from the same process (a question is about
a sub-topic; it is not a copy of a stored chunk). Each chunk gets one of 5 sites and one of 4
locales at random, *independently of its topic*, so a site+locale filter keeps 5% of the rows
with no help from the graph's neighbourhoods: the hard case for a filtered HNSW search.

Per size, rows are written with binary COPY under a private embedder id, then the full-text GIN
index, an HNSW index over ``embedding::vector(384)`` and one over ``embedding::halfvec(384)`` (both
m=16, ef_construction=128, partial on ``dimensions = 384``, as the migrations make them;
``--ef-construction`` changes it, ``--rebuild`` drops a kept run's HNSW indexes first) are built
and timed; the queries are run exactly as ``retrieve()`` runs its vector side
(``selectors._vector_candidates``: SET LOCAL GUCs + the CTE query, 40 candidates) and timed
client-side including both round trips. Recall@10 is the candidates' first 10 against an exact
numpy scan (over the filtered rows, for filtered queries). The full ``retrieve()`` (vector + full
text + fusion + rows + snippets) is timed too, with a stand-in embedder returning the question's
synthetic vector (``bench/fixed_embedder.py``). ``--scope-indexes`` adds the partial HNSW index per
site+locale scope (``manage.py rag_scope_indexes``): each question is asked in a scope that has its
index and in one that has not (both 5%), interleaved, then the remaining scopes get theirs and the
whole ``retrieve()`` is timed again. Use a scratch database:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
      .venv/bin/python bench/rag_retrieval.py [--sizes 100000 1000000] [--queries 200] [--keep] [--scope-indexes]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import override_settings  # noqa: E402
from pgvector.psycopg import register_vector  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.rag.conf import retrieval_settings  # noqa: E402
from ai_core.rag.models import HNSW_INDEX_TYPE  # noqa: E402
from ai_core.rag.selectors import _scope_sql, _vector_candidates, retrieve  # noqa: E402
from ai_core.rag.services.scope_indexes import PREFIX as SCOPE_PREFIX  # noqa: E402
from ai_core.rag.services.scope_indexes import scope_indexes_sync  # noqa: E402
from bench.fixed_embedder import FixedEmbedder  # noqa: E402

EMBEDDER = "bench:synthetic:384"
DIMS = 384
SITES, LOCALES = (1, 2, 3, 4, 5), ("en", "fr", "de", "es")  # one site + one locale: 5% of rows
CANDIDATES = 40  # AI_CORE["RETRIEVAL"]["CANDIDATES"]
NICE = 10  # --nice
KINDS = {
    "vector": ("rag_chunk_hnsw_384", "vector(384)", "vector_cosine_ops"),
    "halfvec": ("rag_chunk_hnsw_half_384", "halfvec(384)", "halfvec_cosine_ops"),
}
GIN_SQL = "CREATE INDEX rag_chunk_search_gin ON rag_knowledgechunk USING gin (search_vector)"
COLUMNS = (
    "page_id, position, block_ids, site_id, locale, title, url, heading_path, text, content_hash, "
    "token_estimate, embedder_id, dimensions, embedding, created_at, updated_at"
)
TYPES = ["int4", "int4", "varchar[]", "int4", "varchar", "varchar", "varchar", "varchar", "text",
         "varchar", "int4", "varchar", "int2", "vector", "timestamptz", "timestamptz"]  # fmt: skip


EF_CONSTRUCTION = 128  # the migrations' (--ef-construction)


def index_sql(kind: str, ef_construction: int = EF_CONSTRUCTION) -> str:
    name, cast, ops = KINDS[kind]
    return (
        f"CREATE INDEX {name} ON rag_knowledgechunk USING hnsw ((embedding::{cast}) {ops}) "
        f"WITH (m = 16, ef_construction = {int(ef_construction)}) WHERE dimensions = 384"
    )


class Generator:
    """Topic / sub-topic clusters in a 64-d latent space, projected to 384-d (see the docstring)."""

    def __init__(self, n: int, seed: int = 5) -> None:
        self.rng = np.random.default_rng(seed)
        latent = 64
        self.topics = self.rng.normal(size=(100, latent))
        n_sub = max(100, n // 500)
        self.subs = self.topics[self.rng.integers(0, 100, n_sub)] + self.rng.normal(
            scale=0.8, size=(n_sub, latent)
        )
        self.projection = self.rng.normal(size=(latent, DIMS)) / np.sqrt(latent)
        self.offset = self.rng.normal(size=DIMS)
        self.offset *= 9.6 / np.linalg.norm(self.offset)

    def draw(self, m: int, spread: float = 0.7) -> np.ndarray:
        sub = self.subs[self.rng.integers(0, len(self.subs), m)]
        latent = sub + self.rng.normal(scale=spread, size=sub.shape)
        vectors = latent @ self.projection + self.rng.normal(scale=0.2, size=(m, DIMS)) + self.offset
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def connect_raw() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    raw = psycopg.connect(**params, autocommit=True)
    register_vector(raw)
    return raw


def renice_backends(raw: psycopg.Connection) -> None:
    """Builds run at low CPU priority (this process is root on the shared bench machine): others'
    tests keep their share of the two cores."""
    pid = raw.execute("SELECT pg_backend_pid()").fetchone()[0]
    for (worker,) in raw.execute(
        "SELECT pid FROM pg_stat_activity WHERE pid = %s OR leader_pid = %s", [pid, pid]
    ).fetchall():
        try:
            os.setpriority(os.PRIO_PROCESS, worker, NICE)
        except OSError:
            pass


def with_progress(label: str, raw: psycopg.Connection, sql: str) -> float:
    """Run ``sql`` on ``raw`` while a second connection prints pg_stat_progress_create_index."""
    done = threading.Event()
    pid = raw.execute("SELECT pg_backend_pid()").fetchone()[0]

    def watch() -> None:
        with connect_raw() as spy:
            while not done.wait(30):
                row = spy.execute(
                    "SELECT phase, tuples_done, tuples_total, blocks_done, blocks_total "
                    "FROM pg_stat_progress_create_index WHERE pid = %s",
                    [pid],
                ).fetchone()
                if row:
                    print(
                        f"    {label}: {row[0]} tuples {row[1]}/{row[2]} blocks {row[3]}/{row[4]}", flush=True
                    )
                for (worker,) in spy.execute(
                    "SELECT pid FROM pg_stat_activity WHERE leader_pid = %s", [pid]
                ).fetchall():
                    try:
                        os.setpriority(os.PRIO_PROCESS, worker, NICE)
                    except OSError:
                        pass

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        raw.execute(sql)
    finally:
        done.set()
    seconds = time.monotonic() - started
    print(f"  {label}: {seconds:.1f}s", flush=True)
    return seconds


def load(
    raw: psycopg.Connection, gen: Generator, size: int, words: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Write ``size`` rows; returns their vectors and (site, locale index) labels, in id order."""
    others = raw.execute(
        "SELECT count(*) FROM rag_knowledgechunk WHERE embedder_id <> %s", [EMBEDDER]
    ).fetchone()[0]
    if others:
        raw.execute("DELETE FROM rag_knowledgechunk WHERE embedder_id = %s", [EMBEDDER])
    else:  # a scratch database holding only bench rows: TRUNCATE, so sizes carry no dead rows
        raw.execute("TRUNCATE rag_knowledgechunk")
    for name, _, _ in KINDS.values():
        raw.execute(f"DROP INDEX IF EXISTS {name}")
    drop_scope_indexes(raw)
    raw.execute("DROP INDEX IF EXISTS rag_chunk_search_gin")
    vocabulary = np.array(words)
    weights = 1.0 / (np.arange(len(words)) + 2.7)  # Zipf-like word frequencies
    weights /= weights.sum()
    all_vectors = np.empty((size, DIMS), dtype=np.float32)
    labels = np.empty((size, 2), dtype=np.int16)
    now = datetime.now(UTC)
    started = time.monotonic()
    block = 50_000
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY rag_knowledgechunk ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(TYPES)
        for first in range(0, size, block):
            m = min(block, size - first)
            vectors = gen.draw(m)
            all_vectors[first : first + m] = vectors
            sites = gen.rng.integers(0, len(SITES), m)
            locales = gen.rng.integers(0, len(LOCALES), m)
            labels[first : first + m, 0], labels[first : first + m, 1] = sites, locales
            text_words = gen.rng.choice(len(words), size=(m, 100), p=weights)
            for j in range(m):
                i = first + j
                copy.write_row(
                    (2_000_000 + i // 10, i % 10, [], SITES[sites[j]], LOCALES[locales[j]], f"Bench {i // 10}",
                     f"/bench/{i // 10}/", "", " ".join(vocabulary[text_words[j]]), f"{i:064x}", 130,
                     EMBEDDER, DIMS, vectors[j], now, now)
                )  # fmt: skip
            rate = (first + m) / (time.monotonic() - started)
            print(f"    COPY {first + m}/{size} rows ({rate:.0f} rows/s)", flush=True)
    print(f"  COPY: {time.monotonic() - started:.1f}s", flush=True)
    return all_vectors, labels


def reusable(raw: psycopg.Connection, cache: Path, size: int) -> bool:
    """A previous ``--keep --cache`` run left exactly this size's rows (indexes missing are built)."""
    if not (cache / "vectors.npy").exists():
        return False
    count = raw.execute(
        "SELECT count(*) FROM rag_knowledgechunk WHERE embedder_id = %s", [EMBEDDER]
    ).fetchone()[0]
    return count == size


def scope_index_names(raw: psycopg.Connection) -> list[str]:
    return [name for (name,) in raw.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'rag_knowledgechunk' AND indexname LIKE %s",
        [SCOPE_PREFIX + "%"],
    ).fetchall()]  # fmt: skip


def drop_scope_indexes(raw: psycopg.Connection) -> None:
    for name in scope_index_names(raw):
        raw.execute(f"DROP INDEX IF EXISTS {name}")


def index_exists(raw: psycopg.Connection, name: str) -> bool:
    return raw.execute("SELECT to_regclass(%s) IS NOT NULL", [name]).fetchone()[0]


def sizes_of(raw: psycopg.Connection) -> dict[str, int]:
    names = [name for name, _, _ in KINDS.values()]
    row = raw.execute(
        "SELECT pg_relation_size(c.oid), pg_relation_size(c.reltoastrelid), "
        "pg_relation_size('rag_chunk_search_gin'), pg_relation_size(to_regclass(%s)), "
        "pg_relation_size(to_regclass(%s)), pg_total_relation_size(c.oid) "
        "FROM pg_class c WHERE c.relname = 'rag_knowledgechunk'",
        names,
    ).fetchone()
    avg = raw.execute(
        "SELECT avg(pg_column_size(embedding)), avg(pg_column_size(embedding::halfvec(384))), "
        "avg(pg_column_size(text) + pg_column_size(search_vector)) "
        "FROM rag_knowledgechunk TABLESAMPLE SYSTEM (1)"
    ).fetchone()
    return {
        "heap": row[0], "toast": row[1], "gin": row[2], "hnsw vector": row[3], "hnsw halfvec": row[4],
        "total": row[5], "vector bytes/row": float(avg[0]), "halfvec bytes/row": float(avg[1]),
        "text+tsvector bytes/row": float(avg[2]),
    }  # fmt: skip


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_vector(
    query: np.ndarray, scope, *, kind: str, ef_search: int, iterative: str
) -> tuple[float, list[int]]:
    """The vector side of ``retrieve()``, timed with its round trip (GUCs + query in one string)."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        found = _vector_candidates(
            cursor,
            query.tolist(),
            embedder_id=EMBEDDER,
            scope=scope,
            limit=CANDIDATES,
            ef_search=ef_search,
            iterative_scan=iterative,
            max_scan_tuples=20_000,
            index_type=kind,
        )
    return time.perf_counter() - started, [r.id for r in found]


def run_exact(query: np.ndarray) -> float:
    literal = "[" + ",".join(f"{x:.7g}" for x in query) + "]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        started = time.perf_counter()
        cursor.execute(
            "SELECT id FROM rag_knowledgechunk c WHERE embedder_id = %s AND dimensions = 384 "
            "ORDER BY (embedding::vector(384)) <=> %s::vector(384) LIMIT 40",
            [EMBEDDER, literal],
        )
        cursor.fetchall()
        return time.perf_counter() - started


def explain(query: np.ndarray, scope, kind: str) -> str:
    from ai_core.rag.selectors import vector_query_sql

    where, params = scope
    literal = "[" + ",".join(f"{x:.7g}" for x in query) + "]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', '100', true), set_config('hnsw.iterative_scan', 'relaxed_order', true)"
        )
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + vector_query_sql(DIMS, where, index_type=kind),
            [literal, EMBEDDER, *params, literal, CANDIDATES],
        )
        return "\n".join("      " + r[0][:160] for r in cursor.fetchall())


# What each statement of ``retrieve()`` is, by a phrase only its SQL contains (bench labels).
# The first phrase found names the statement.
STATEMENTS = (
    ("WITH v AS", "vector candidates (CTE; terms and GUCs in its string)"),
    ("rag_query_term_shares", "query terms and shares (own statement, older trees)"),
    ("set_config", "vector search GUCs (own statement, older trees)"),
    ("LEFT JOIN", "candidates' evidence (terms, neighbours, sources)"),
    ("ts_headline", "chosen rows and excerpts"),
)
STATEMENT_TIMES: dict[str, dict[str, list[float]]] = {}  # row name -> statement -> seconds per question


def statement_label(sql: str) -> str:
    return next((name for phrase, name in STATEMENTS if phrase in sql), sql.split(None, 3)[0][:20])


def timed_retrieve(
    queries: np.ndarray, texts: list[str], scopes: list[tuple[int, str] | None], *, name: str = ""
) -> tuple[list[float], float, list[float]]:
    """The whole ``retrieve()`` as a feature calls it, the question's embedding stubbed out.

    Returns its latencies, the backend's CPU per question, and per question the time spent in its
    SQL statements (each ``cursor.execute`` and fetch as the client sees it, round trips included;
    the transaction's COMMIT is not a statement and is left out). ``name`` files the per-statement
    times in ``STATEMENT_TIMES`` for ``print_statements``."""
    return timed_retrieve_variants(queries, texts, scopes, {name: {}})[name]


def timed_retrieve_variants(
    queries: np.ndarray, texts: list[str], scopes: list[tuple[int, str] | None], variants: dict[str, dict]
) -> dict[str, tuple[list[float], float, list[float]]]:
    """``timed_retrieve`` for several retrieval settings at once (name -> ``AI_CORE["RETRIEVAL"]``
    overrides), interleaved question by question, in alternating order, so that a burst of load on
    the shared machine hits every variant alike."""
    ai_core = {
        **settings.AI_CORE,
        "EMBEDDERS": {
            "bench": {"CLASS": "bench.fixed_embedder.FixedEmbedder", "OPTIONS": {"dimensions": DIMS}}
        },
        "DEFAULT_EMBEDDER": "bench",
        "RETRIEVAL": {
            **settings.AI_CORE.get("RETRIEVAL", {}),
            "PAGE_ACCESS_CHECK": "bench.fixed_embedder.allow_all_pages",
        },
    }
    current: dict[str, float] = {}

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            label = statement_label(sql)
            current[label] = current.get(label, 0.0) + time.perf_counter() - started

    results = {name: ([], 0.0, []) for name in variants}
    cpu = dict.fromkeys(variants, 0.0)
    with override_settings(AI_CORE=ai_core), connection.execute_wrapper(timer):
        providers.reset_providers()
        chosen = {name: retrieval_settings(overrides=overrides) for name, overrides in variants.items()}
        order = list(variants)
        for n, (query, text, scope) in enumerate(zip(queries, texts, scopes, strict=True)):
            FixedEmbedder.vectors[text] = query.tolist()
            site, locale = scope or (None, None)
            for name in order if n % 2 else order[::-1]:
                out, _, sql_times = results[name]
                per_statement = STATEMENT_TIMES.setdefault(name, {})
                before = backend_cpu()
                current.clear()
                started = time.perf_counter()
                retrieve(text, site=site, locale=locale, min_score=0, settings=chosen[name])
                out.append(time.perf_counter() - started)
                statements = {k: v for k, v in current.items() if not k.startswith("SELECT")}  # backend_cpu's
                sql_times.append(sum(statements.values()))
                for label, seconds in statements.items():
                    per_statement.setdefault(label, []).append(seconds)
                cpu[name] += backend_cpu() - before
    providers.reset_providers()
    return {name: (out, cpu[name] / len(queries), sql) for name, (out, _, sql) in results.items()}


def print_statements() -> None:
    """p50 of each statement per question, one column per timed ``retrieve()`` row."""
    names = [name for name in STATEMENT_TIMES if STATEMENT_TIMES[name]]
    if not names:
        return
    print(f"\n{'retrieve() statement, p50 ms per question':<52}" + "".join(f" {n[:24]:>24}" for n in names))
    labels = [label for _, label in STATEMENTS]
    labels += sorted({k for n in names for k in STATEMENT_TIMES[n]} - set(labels))
    for label in labels:
        cells = [STATEMENT_TIMES[n].get(label) for n in names]
        print(
            f"{label:<52}" + "".join(f" {pct(c, 0.5) * 1000:>24.2f}" if c else f" {'—':>24}" for c in cells)
        )


def print_table(table: list[tuple]) -> None:
    print(f"\n{'chunks':>8} {'query (vector side as retrieve() runs it)':<40} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'CPU ms':>7} {'recall@10':>9} {'short':>5}", flush=True)  # fmt: skip
    for size, name, latencies, recall, short, cpu in table:
        recall_text = "—" if recall != recall else f"{recall:.3f}"
        print(
            f"{size:>8} {name:<40} {pct(latencies, 0.5) * 1000:>7.1f} {pct(latencies, 0.95) * 1000:>7.1f} "
            f"{'—' if cpu != cpu else f'{cpu * 1000:.1f}':>7} {recall_text:>9} {short:>5}",
            flush=True,
        )


def backend_cpu() -> float:
    """CPU seconds this connection's PostgreSQL backend has used (same machine only, else NaN).

    On a shared machine wall-clock latency mostly measures the neighbours; CPU per query does
    not, so the table shows both."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(kinds: list[str], size: int, data: dict, table: list, *, breadths: list[int]) -> None:
    """Every search configuration, the index types interleaved query by query (so a burst of
    load on the shared machine hits both alike): latency, backend CPU, recall@10, short lists."""
    queries, scopes, no_scope = data["queries"], data["scopes"], ("", [])
    for query in queries[:20]:  # warm the indexes' pages, as a running site would have them
        for kind in kinds:
            run_vector(query, no_scope, kind=kind, ef_search=100, iterative="relaxed_order")
    configs = [*((ef, "relaxed_order") for ef in sorted(set(breadths))), (100, "off")]
    for ef, iterative in configs:
        for filtered in (False, True):
            rows = {kind: {"latencies": [], "recalls": [], "short": 0, "cpu": 0.0} for kind in kinds}
            for n, query in enumerate(queries):
                scope = scopes[n] if filtered else no_scope
                expected = data["truth_filtered"][n] if filtered else data["truth_all"][n]
                for kind in kinds if n % 2 else kinds[::-1]:
                    row = rows[kind]
                    cpu = backend_cpu()
                    seconds, got = run_vector(query, scope, kind=kind, ef_search=ef, iterative=iterative)
                    row["cpu"] += backend_cpu() - cpu
                    row["latencies"].append(seconds)
                    row["recalls"].append(len(expected & set(got[:10])) / 10)
                    row["short"] += len(got) < CANDIDATES
            for kind, row in rows.items():
                name = f"{kind} ef={ef}{' iter=off' if iterative == 'off' else ''}{' +5% filter' if filtered else ''}"
                table.append((size, name, row["latencies"], float(np.mean(row["recalls"])), row["short"],
                              row["cpu"] / len(queries)))  # fmt: skip
    for kind in kinds:
        print(f"  EXPLAIN {kind}, 5% filter:\n{explain(queries[0], scopes[0], kind)}", flush=True)


INDEXED_SITES = SITES[:3]  # --scope-indexes: these sites' scopes get their index first, 4-5 are the control


def measure_scopes(
    size: int, data: dict, corpus: tuple, texts: list[str], args, table: list, builds: dict
) -> dict:
    """``--scope-indexes``: the 5% filter served by its scope's partial index vs by the full index.

    The scopes of sites 1-3 get their index (``scope_indexes_sync``, as ``manage.py
    rag_scope_indexes`` runs it); each question is then asked once in a scope of sites 1-3 and once
    in a scope of sites 4-5 (no index: the full index and the filter), interleaved, both exactly as
    ``retrieve()`` sends them. Every scope holds 5% of the rows at random, so the two differ only
    in the index. Then sites 4-5 get theirs and the whole ``retrieve()`` is timed with all 20."""
    vectors, labels, ids = corpus
    ef = retrieval_settings().ef_search

    def progress(line: str) -> None:
        print(f"    {line}", flush=True)

    def sync(sites: tuple[int, ...]):
        return scope_indexes_sync(
            min_rows=args.scope_min_rows, site_ids=sites, maintenance_work_mem=args.maintenance_work_mem,
            progress=progress,
        )[1]  # fmt: skip

    print(f"  scope indexes for the scopes of sites {INDEXED_SITES}", flush=True)
    first = sync(INDEXED_SITES)
    rng = np.random.default_rng(23)
    others = len(SITES) - len(INDEXED_SITES)
    picks = {
        "scope index": [(int(rng.integers(len(INDEXED_SITES))), int(rng.integers(len(LOCALES)))) for _ in texts],
        "full index": [(len(INDEXED_SITES) + int(rng.integers(others)), int(rng.integers(len(LOCALES)))) for _ in texts],
    }  # fmt: skip
    for n, query in enumerate(data["queries"][:60]):  # warm both paths' pages, as a running site has them
        for site, locale in (picks["scope index"][n], picks["full index"][n]):
            scope = _scope_sql(site=SITES[site], locale=LOCALES[locale], within_page=None)
            run_vector(query, scope, kind=HNSW_INDEX_TYPE, ef_search=ef, iterative="relaxed_order")
    # The scope index's walk at the full breadth and at each --scope-ef; the full index at its own.
    variants = [("full index", ef), *(("scope index", e) for e in sorted({ef, *args.scope_ef}))]
    rows = {variant: {"latencies": [], "recalls": [], "short": 0, "cpu": 0.0} for variant in variants}
    for n, query in enumerate(data["queries"]):
        sims = vectors @ query
        for variant in variants if n % 2 else variants[::-1]:
            pick, breadth = variant
            site, locale = picks[pick][n]
            masked = np.where((labels[:, 0] == site) & (labels[:, 1] == locale), sims, -2.0)
            expected = set(ids[np.argpartition(-masked, 10)[:10]].tolist())
            scope = _scope_sql(site=SITES[site], locale=LOCALES[locale], within_page=None)
            row = rows[variant]
            cpu = backend_cpu()
            seconds, got = run_vector(
                query, scope, kind=HNSW_INDEX_TYPE, ef_search=breadth, iterative="relaxed_order"
            )
            row["cpu"] += backend_cpu() - cpu
            row["latencies"].append(seconds)
            row["recalls"].append(len(expected & set(got[:10])) / 10)
            row["short"] += len(got) < CANDIDATES
    for (variant, breadth), row in rows.items():
        table.append((size, f"{HNSW_INDEX_TYPE} ef={breadth} +5% filter, {variant}", row["latencies"],
                      float(np.mean(row["recalls"])), row["short"], row["cpu"] / len(texts)))  # fmt: skip
    for variant in picks:
        site, locale = picks[variant][0]
        scope = _scope_sql(site=SITES[site], locale=LOCALES[locale], within_page=None)
        print(
            f"  EXPLAIN 5% filter, {variant}:\n{explain(data['queries'][0], scope, HNSW_INDEX_TYPE)}",
            flush=True,
        )
    print(f"  scope indexes for the scopes of sites {SITES[len(INDEXED_SITES) :]}", flush=True)
    rest = sync(SITES)
    built = len(first.created) + len(rest.created)
    builds[f"scope indexes ({built})"] = first.build_seconds + rest.build_seconds
    # The whole retrieve() with every scope indexed, at the configured SCOPE_EF_SEARCH and with the
    # scope indexes walked as broadly as the full index (EF_SEARCH), interleaved.
    scope_ef = retrieval_settings().scope_ef_search
    breadths = {f"scope indexes, ef {scope_ef}": {"SCOPE_EF_SEARCH": scope_ef}}
    if scope_ef != ef:
        breadths[f"scope indexes, ef {ef}"] = {"SCOPE_EF_SEARCH": ef}
    timed = timed_retrieve_variants(data["queries"], [t + " s" for t in texts], data["scoped"], breadths)
    for name, (scoped, cpu, sql) in timed.items():
        table.append(
            (size, f"retrieve() ({HNSW_INDEX_TYPE}), +5% filter, {name}", scoped, float("nan"), 0, cpu)
        )
        table.append((size, f"  its SQL statements, {name}", sql, float("nan"), 0, float("nan")))
    return {"scope indexes": rest.size_bytes, "scope indexes built": built}


SITE_LOCALE_SQL = "CREATE INDEX rag_chunk_site_locale ON rag_knowledgechunk (site_id, locale)"  # rag 0008
SMALL_SCOPES = (
    50,
    200,
    800,
)  # --small-scopes: rows in each small scope (rag_scope_indexes --min-rows is 1,000)
SMALL_SITE = 100  # the small scopes' site ids start here, clear of SITES
WITHOUT_BTREE_EVERY = 10  # the control (no site/locale btree) reads the whole table: every 10th question


def measure_small_scopes(size: int, data: dict, corpus: tuple, table: list) -> None:
    """``--small-scopes``: scopes too small for their own HNSW index, as a small site or a rare
    language is, served by the site/locale btree (migration rag 0008) and, as a control, without it.

    Inside one transaction that is rolled back at the end, ``SMALL_SCOPES`` rows drawn at random
    move to sites of their own (locale "en") and the table is analysed, so the planner sees them
    as a real small site. Each question is asked in each small scope exactly as ``retrieve()``
    sends it; every ``WITHOUT_BTREE_EVERY``-th question is also asked with the btree dropped inside
    a savepoint (rolled back at once), interleaved with the btree. Recall@10 is against an exact
    numpy scan of the scope's rows. The rolled-back update leaves dead row versions: VACUUM after."""
    vectors, _, ids = corpus
    ef = retrieval_settings().ef_search
    rng = np.random.default_rng(29)
    chosen = rng.choice(len(ids), size=sum(SMALL_SCOPES), replace=False)
    scopes, start = [], 0
    for k, rows_in_scope in enumerate(SMALL_SCOPES):
        scopes.append((SMALL_SITE + k, chosen[start : start + rows_in_scope]))
        start += rows_in_scope
    variants = [(rows, with_btree) for rows in SMALL_SCOPES for with_btree in (True, False)]
    rows = {variant: {"latencies": [], "recalls": [], "short": 0, "cpu": 0.0} for variant in variants}
    plans = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for site, members in scopes:
            cursor.execute(
                "UPDATE rag_knowledgechunk SET site_id = %s, locale = 'en' WHERE id = ANY(%s)",
                [site, ids[members].tolist()],
            )
        cursor.execute("ANALYZE rag_knowledgechunk")
        print(f"  small scopes of {SMALL_SCOPES} rows (sites {SMALL_SITE}+), in a transaction", flush=True)

        def ask(query: np.ndarray, scope, with_btree: bool) -> tuple[float, list[int], float]:
            cpu = backend_cpu()
            if with_btree:
                seconds, got = run_vector(
                    query, scope, kind=HNSW_INDEX_TYPE, ef_search=ef, iterative="relaxed_order"
                )
            else:
                with transaction.atomic():  # a savepoint: the btree is back when it ends
                    cursor.execute("DROP INDEX rag_chunk_site_locale")
                    seconds, got = run_vector(
                        query, scope, kind=HNSW_INDEX_TYPE, ef_search=ef, iterative="relaxed_order"
                    )
                    transaction.set_rollback(True)
            return seconds, got, backend_cpu() - cpu

        for n, query in enumerate(data["queries"]):
            for (site, members), rows_in_scope in zip(scopes, SMALL_SCOPES, strict=True):
                scope = _scope_sql(site=site, locale="en", within_page=None)
                sims = vectors[members] @ query
                expected = set(ids[members[np.argsort(-sims)[:10]]].tolist())
                order = (True, False) if n % 2 else (False, True)
                for with_btree in order:
                    if not with_btree and n % WITHOUT_BTREE_EVERY:
                        continue
                    seconds, got, cpu = ask(query, scope, with_btree)
                    row = rows[(rows_in_scope, with_btree)]
                    row["latencies"].append(seconds)
                    row["recalls"].append(len(expected & set(got[:10])) / len(expected))
                    row["short"] += len(got) < min(CANDIDATES, rows_in_scope)
                    row["cpu"] += cpu
            if n % 50 == 49:
                print(f"    small scopes: {n + 1}/{len(data['queries'])} questions", flush=True)
        site = scopes[0][0]
        plans["btree"] = explain(
            data["queries"][0], _scope_sql(site=site, locale="en", within_page=None), HNSW_INDEX_TYPE
        )
        transaction.set_rollback(True)
    for (rows_in_scope, with_btree), row in rows.items():
        name = f"{HNSW_INDEX_TYPE} {rows_in_scope}-row scope, {'btree' if with_btree else 'no btree'}"
        table.append((size, name, row["latencies"], float(np.mean(row["recalls"])), row["short"],
                      row["cpu"] / len(row["latencies"])))  # fmt: skip
    print(f"  EXPLAIN {SMALL_SCOPES[0]}-row scope, btree:\n{plans['btree']}", flush=True)


AMONG = 2_000  # corpus size for the shape statistics, about the size of the real set compared


def shape_stats(vectors: np.ndarray, questions: np.ndarray, rng: np.random.Generator) -> str:
    """Numbers to hold synthetic vectors against real embeddings (``--calibrate``)."""
    nearest = np.sort(vectors @ questions.T, axis=0)[::-1]
    pairs = vectors[rng.integers(0, len(vectors), 1000)] @ vectors[rng.integers(0, len(vectors), 1000)].T
    return (
        f"cosine of random pairs {pairs.mean():.2f}; question to its 1st/10th/100th neighbour among "
        f"{len(vectors)}: {nearest[0].mean():.2f}/{nearest[9].mean():.2f}/{nearest[99].mean():.2f}"
    )


def calibrate(pages_path: str, eval_path: str) -> None:
    """The same statistics for real MiniLM embeddings: paragraphs of a real FAQ and its questions."""
    import html
    import json
    import re

    paragraphs = []
    for page in json.loads(Path(pages_path).read_text()):
        for part in re.split(r"</p>|</li>|<h\d", page["body"]):
            text = html.unescape(re.sub(r"<[^>]+>", " ", part)).strip()
            if len(text.split()) >= 8:
                paragraphs.append(text)
    paragraphs = paragraphs[:AMONG]
    questions = [q["query"] for q in json.loads(Path(eval_path).read_text())["queries"]][:50]
    embedder = providers.embedder("local")
    print(
        f"embedding {len(paragraphs)} paragraphs and {len(questions)} questions with {embedder.embedder_id}"
    )
    vectors = np.array(embedder.embed(paragraphs).vectors, dtype=np.float32)
    asked = np.array(embedder.embed(questions).vectors, dtype=np.float32)
    print("MiniLM:", shape_stats(vectors, asked, np.random.default_rng(1)))
    gen = Generator(100_000)
    synthetic = gen.draw(len(paragraphs))
    print("synthetic:", shape_stats(synthetic, gen.draw(50, spread=0.8), gen.rng))


def ground_truth(gen: Generator, vectors: np.ndarray, labels: np.ndarray, ids: np.ndarray, n: int) -> dict:
    queries = gen.draw(n, spread=0.8)
    query_sites = gen.rng.integers(0, len(SITES), n)
    query_locales = gen.rng.integers(0, len(LOCALES), n)
    truth_all, truth_filtered = [], []
    for i, query in enumerate(queries):
        sims = vectors @ query
        truth_all.append(set(ids[np.argpartition(-sims, 10)[:10]].tolist()))
        mask = (labels[:, 0] == query_sites[i]) & (labels[:, 1] == query_locales[i])
        masked = np.where(mask, sims, -2.0)
        truth_filtered.append(set(ids[np.argpartition(-masked, 10)[:10]].tolist()))
    stats = shape_stats(vectors[:AMONG], queries[:50], gen.rng)
    scoped = [(SITES[s], LOCALES[lc]) for s, lc in zip(query_sites, query_locales, strict=True)]
    return {
        "queries": queries,
        "scoped": scoped,
        "scopes": [_scope_sql(site=site, locale=locale, within_page=None) for site, locale in scoped],
        "truth_all": truth_all,
        "truth_filtered": truth_filtered,
        "stats": stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=["halfvec", "vector"])
    parser.add_argument("--maintenance-work-mem", default="4GB", help="per build session")
    parser.add_argument("--build-workers", type=int, default=1, help="max_parallel_maintenance_workers")
    parser.add_argument("--nice", type=int, default=10, help="CPU priority of the database backends")
    parser.add_argument(
        "--scope-indexes",
        action="store_true",
        help="also time the 5%% filter with its scope's partial HNSW index (manage.py rag_scope_indexes)",
    )
    parser.add_argument(
        "--small-scopes", action="store_true",
        help="also time scopes of 50-800 rows (too small for a scope index) with and without the site/locale btree",
    )  # fmt: skip
    parser.add_argument("--scope-min-rows", type=int, default=1_000, help="rag_scope_indexes --min-rows")
    parser.add_argument(
        "--scope-ef", type=int, nargs="+", default=[40, 60, 100],
        help="hnsw.ef_search values to time the scope indexes' walk at (besides EF_SEARCH)",
    )  # fmt: skip
    parser.add_argument(
        "--ef", type=int, nargs="+", default=[40, 100, 200],
        help="hnsw.ef_search values to time the full index's walk at, with and without the filter",
    )  # fmt: skip
    parser.add_argument(
        "--ef-construction", type=int, default=EF_CONSTRUCTION,
        help="the HNSW indexes' ef_construction when this run builds them (the migrations: 128)",
    )  # fmt: skip
    parser.add_argument(
        "--rebuild", action="store_true",
        help="drop the HNSW indexes of --kinds left by a --keep run and build them again",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="leave the last size's rows and indexes in place")
    parser.add_argument("--cache", help="directory for the vectors; with --keep, a later run reuses the rows")
    parser.add_argument("--calibrate", nargs=2, metavar=("PAGES_JSON", "EVAL_JSON"),
                        help="only compare the synthetic vectors' shape with MiniLM embeddings of a real set")  # fmt: skip
    args = parser.parse_args()
    if args.scope_indexes and HNSW_INDEX_TYPE not in args.kinds:
        parser.error(f"--scope-indexes needs --kinds {HNSW_INDEX_TYPE} (the scope indexes' type)")
    if args.calibrate:
        calibrate(*args.calibrate)
        return
    global NICE
    NICE = args.nice
    word_rng = np.random.default_rng(11)
    words = ["".join(word_rng.choice(list("bcdfghklmnprstvz"), 3)) + f"{n}a" for n in range(30_000)]
    table, notes = [], []
    raw = connect_raw()
    renice_backends(raw)
    raw.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
    raw.execute(f"SET max_parallel_maintenance_workers = {int(args.build_workers)}")
    try:
        for size in args.sizes:
            print(f"{size} chunks", flush=True)
            gen = Generator(size)
            cache = Path(args.cache) / f"{size}" if args.cache else None
            builds = {}
            if cache and reusable(raw, cache, size):
                print(f"  reusing the rows in place ({cache})", flush=True)
                vectors, labels = np.load(cache / "vectors.npy"), np.load(cache / "labels.npy")
            else:
                vectors, labels = load(raw, gen, size, words)
                if cache:
                    cache.mkdir(parents=True, exist_ok=True)
                    np.save(cache / "vectors.npy", vectors)
                    np.save(cache / "labels.npy", labels)
                # Hint bits and the visibility map set once, as autovacuum would, not by the first reads.
                builds["VACUUM"] = with_progress("VACUUM", raw, "VACUUM (FREEZE, ANALYZE) rag_knowledgechunk")
            if not index_exists(raw, "rag_chunk_search_gin"):
                builds["GIN (full text)"] = with_progress("GIN build", raw, GIN_SQL)
            if not index_exists(raw, "rag_chunk_site_locale"):
                builds["btree (site, locale)"] = with_progress("btree build", raw, SITE_LOCALE_SQL)
            ids = np.array([r[0] for r in raw.execute(
                "SELECT id FROM rag_knowledgechunk WHERE embedder_id = %s ORDER BY id", [EMBEDDER]
            ).fetchall()])  # fmt: skip
            data = ground_truth(gen, vectors, labels, ids, args.queries)
            notes.append(f"{size}: {data['stats']}")
            print(f"  {data['stats']}", flush=True)
            for kind in args.kinds:
                if args.rebuild:
                    raw.execute(f"DROP INDEX IF EXISTS {KINDS[kind][0]}")
                if not index_exists(raw, KINDS[kind][0]):
                    builds[f"HNSW {kind}, ef_construction {args.ef_construction}"] = with_progress(
                        f"HNSW {kind} build", raw, index_sql(kind, args.ef_construction)
                    )
                    raw.execute("ANALYZE rag_knowledgechunk")
            drop_scope_indexes(raw)  # left by a --keep run: the rows below are the full index's
            measure(args.kinds, size, data, table, breadths=args.ef)
            texts = [f"q{size}-{n} " + " ".join(gen.rng.choice(words[:3000], 6)) for n in range(args.queries)]
            if HNSW_INDEX_TYPE in args.kinds:
                plain, cpu, sql = timed_retrieve(
                    data["queries"], texts, [None] * args.queries, name="no filter"
                )
                table.append(
                    (size, f"retrieve() ({HNSW_INDEX_TYPE}), no filter", plain, float("nan"), 0, cpu)
                )
                table.append((size, "  its SQL statements, no filter", sql, float("nan"), 0, float("nan")))
                scoped, cpu, sql = timed_retrieve(
                    data["queries"], [t + " f" for t in texts], data["scoped"], name="5% filter"
                )
                table.append(
                    (size, f"retrieve() ({HNSW_INDEX_TYPE}), +5% filter", scoped, float("nan"), 0, cpu)
                )
                table.append((size, "  its SQL statements, +5% filter", sql, float("nan"), 0, float("nan")))
            scope_sizes = {}
            if args.scope_indexes:
                scope_sizes = measure_scopes(size, data, (vectors, labels, ids), texts, args, table, builds)
            if args.small_scopes:
                measure_small_scopes(size, data, (vectors, labels, ids), table)
                with_progress("VACUUM", raw, "VACUUM rag_knowledgechunk")  # the rolled-back moves' dead rows
            cpu = backend_cpu()
            exact = [run_exact(q) for q in data["queries"][:10]]
            table.append((size, "exact scan, no filter", exact, 1.0, 0, (backend_cpu() - cpu) / 10))
            sizes = {**sizes_of(raw), **scope_sizes}
            print(f"  build seconds: {builds}\n  sizes: {sizes}", flush=True)
            notes.append(f"{size}: builds {builds}; sizes {sizes}")
            print_table([row for row in table if row[0] == size])
    finally:
        if not args.keep:
            print("cleaning up: removing bench rows, restoring the schema's indexes", flush=True)
            raw.execute("DELETE FROM rag_knowledgechunk WHERE embedder_id = %s", [EMBEDDER])
            drop_scope_indexes(raw)
            for name, _, _ in KINDS.values():
                raw.execute(f"DROP INDEX IF EXISTS {name}")
            raw.execute("DROP INDEX IF EXISTS rag_chunk_search_gin")
            raw.execute(GIN_SQL)
            raw.execute(index_sql(HNSW_INDEX_TYPE))
        raw.close()
    print_table(table)
    print_statements()
    print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
