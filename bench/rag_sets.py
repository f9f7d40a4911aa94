"""Load the labelled retrieval sets into a scratch database, index them, and evaluate variants.

    export DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench
    .venv/bin/python manage.py migrate -v0
    .venv/bin/python bench/rag_sets.py load                 # demo + every tests/data FAQ set, indexed
    SETS="tests/data/rag_eval.json tests/rag/data/rag_negatives.json tests/data/debian_faq_eval.json \
          tests/data/python_faq_eval.json"
    .venv/bin/python manage.py rag_eval $SETS [--setting KEY=VALUE ...]   # per set + mean, as retrieve() runs
    .venv/bin/python bench/rag_sets.py collect $SETS --out /tmp/features.json   # candidates, once per query
    .venv/bin/python bench/rag_sets.py grid /tmp/features.json          # every variant, per set (no database)
    .venv/bin/python bench/rag_sets.py latency $SETS --chunks 10000     # retrieval SQL per LEXICAL mode

``load`` creates the demo site (``load_demo_content``), one section per third-party set
(``tests/data/<set>_pages.json``, built by ``tests/data/build_faq_sets.py``) imported with
``import_pages``, then indexes everything in this process with the configured embedder (the
offline MiniLM by default) with a progress bar. All sets share one index, as they would on one
site: each set's pages are distractors for the others' questions. Publishing queues index tasks;
they go to a private queue no worker reads, which is deleted afterwards (the in-process
``reindex --all`` does the work), so a dev worker never indexes rows of this scratch database.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.dev")
_QUEUE = f"bench-rag-sets-{os.getpid()}-unread"
os.environ["CELERY_TASK_DEFAULT_QUEUE"] = _QUEUE

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

SETS = {
    "debian-faq": ROOT / "tests/data/debian_faq_pages.json",
    "python-faq": ROOT / "tests/data/python_faq_pages.json",
}


def load(args) -> None:
    import redis
    from django.conf import settings

    from content.models import HomePage
    from content.services import home_page_ensure, section_ensure

    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to a scratch database (this writes pages)")
    logging.disable(logging.INFO)  # a log line per page created and indexed; the progress bar says enough
    try:
        print("demo content ...", flush=True)
        call_command("load_demo_content", verbosity=0)
        home = HomePage.objects.first() or home_page_ensure()
        for name, path in SETS.items():
            if args.only and name not in args.only:
                continue
            section_ensure(home=home, title=name.replace("-", " ").title(), slug=name)
            print(f"{name}: importing {path.name} ...", flush=True)
            call_command("import_pages", str(path), parent=name, stdout=open(os.devnull, "w"))  # noqa: SIM115
    finally:
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(_QUEUE)
    call_command("reindex", all_pages=True, in_process=True)  # no worker runs here
    # The query terms' shares come from pg_stats, so rag_eval right after a load must not depend
    # on whether autovacuum has analysed the new rows yet.
    from django.db import connection

    from ai_core.rag.models import KnowledgeChunk

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(KnowledgeChunk._meta.db_table)}")
    print("chunk table analysed", flush=True)


def _labelled(path: Path) -> list[dict]:
    from content.management.commands.rag_eval import load_labelled_set

    return load_labelled_set(path)


def collect(args) -> None:
    """Per query: the embedder's top ``--depth`` chunks with their similarity, the full-text OR
    query's top 40 (the shipped hybrid's second list), and for every one of those chunks which
    query lexemes it contains (title/heading fields and body apart) and its ts_rank. Variants are
    then scored in Python from this file, so a grid costs one retrieval per query."""
    import json
    import time

    from django.db import connection
    from wagtail.models import Page

    from ai_core import providers
    from ai_core.rag.conf import retrieval_settings
    from ai_core.rag.models import KnowledgeChunk
    from ai_core.rag.selectors import retrieval_candidates

    settings = retrieval_settings()
    embedder = providers.embedder()
    slugs = dict(Page.objects.values_list("pk", "slug"))
    page_of = {pk: slugs.get(page, "") for pk, page in KnowledgeChunk.objects.values_list("pk", "page_id")}
    table = KnowledgeChunk._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM {table}')")  # noqa: S608
        df = dict(cursor.fetchall())
    out = {"embedder": embedder.embedder_id, "chunks": len(page_of), "page_of": page_of, "df": df, "sets": {}}
    started = time.monotonic()
    done = 0
    total = sum(len(_labelled(path)) for path in args.files)
    for path in args.files:
        runs = []
        for item in _labelled(path):
            lists = retrieval_candidates(
                item["query"], site=None, locale=None, limit=args.depth, settings=settings
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s))",
                    [settings.text_search_config, item["query"]],
                )
                lexemes = [lex for lex in (cursor.fetchone()[0] or []) if lex]
                ids = list({r.id for r in lists["vector"]} | {r.id for r in lists["text"][:40]})
                lex = {}
                if lexemes and ids:
                    quoted = ["'" + x.replace("'", "''") + "'" for x in lexemes]
                    cursor.execute(
                        f"SELECT c.id, array(SELECT l FROM unnest(%s::text[]) l "  # noqa: S608
                        "  WHERE ts_filter(c.search_vector, '{a,b}') @@ l::tsquery), "
                        "array(SELECT l FROM unnest(%s::text[]) l WHERE ts_filter(c.search_vector, '{c}') @@ l::tsquery), "
                        f"ts_rank(c.search_vector, %s::tsquery) FROM {table} c WHERE c.id = ANY(%s)",
                        [quoted, quoted, " | ".join(quoted), ids],
                    )
                    unquote = dict(zip(quoted, lexemes, strict=True))
                    lex = {
                        pk: {
                            "head": [unquote[x] for x in head],
                            "body": [unquote[x] for x in body],
                            "rank": rank,
                        }
                        for pk, head, body, rank in cursor.fetchall()
                    }
            runs.append(
                {
                    "query": item["query"],
                    "relevant": item["relevant"],
                    "lexemes": lexemes,
                    "vector": [[r.id, r.evidence] for r in lists["vector"]],
                    "text": [[r.id, r.evidence] for r in lists["text"][:40]],
                    "lex": lex,
                }
            )
            done += 1
            if done % 50 == 0 or done == total:
                print(f"  {done}/{total} queries, {done / (time.monotonic() - started):.1f}/s", flush=True)
        out["sets"][path.name] = runs
    args.out.write_text(json.dumps(out))
    print(f"wrote {args.out}")


def latency(args) -> None:
    """p50/p95 of the retrieval SQL and scoring (``selectors.retrieval_scored``), both LEXICAL
    modes interleaved query by query, on the loaded index padded to ``--chunks`` rows.

    Padding copies the real chunks (their text, tsvector and embedding, with a little noise on the
    vector so HNSW does not see exact duplicates) under page ids no page has, so the full-text
    side sees real vocabulary, not a synthetic one. The question embeddings are computed once
    before timing: what is timed is the database work and the fusion. Padded rows are removed
    afterwards unless ``--keep``.
    """
    import json
    import statistics
    import time

    from django.db import connection

    from ai_core import providers
    from ai_core.rag import selectors
    from ai_core.rag.conf import retrieval_settings
    from ai_core.rag.models import KnowledgeChunk

    table = KnowledgeChunk._meta.db_table
    pad_base = 10_000_000
    real = KnowledgeChunk.objects.filter(page_id__lt=pad_base).count()
    with connection.cursor() as cursor:
        copies = 0
        while KnowledgeChunk.objects.count() < args.chunks:
            copies += 1
            cursor.execute(
                f"INSERT INTO {table} (page_id, page_revision_id, position, block_ids, site_id, locale, title, url, "  # noqa: S608
                "heading_path, text, content_hash, token_estimate, embedder_id, dimensions, embedding, "
                "created_at, updated_at) "
                "SELECT %s * 100000 + page_id, page_revision_id, position, block_ids, site_id, locale, title, url, "
                "heading_path, text, content_hash, token_estimate, embedder_id, dimensions, "
                "(SELECT array_agg(x + (random() - 0.5) * 0.02) FROM unnest(embedding::real[]) x)::vector, "
                f"now(), now() FROM {table} WHERE page_id < %s LIMIT %s",
                [pad_base // 100000 + copies, pad_base, args.chunks - KnowledgeChunk.objects.count()],
            )
        cursor.execute(f"ANALYZE {table}")  # noqa: S608
    total = KnowledgeChunk.objects.count()
    print(f"index: {real} real chunks, padded to {total}", flush=True)
    queries = [q["query"] for path in args.files for q in _labelled(path)][: args.queries]
    embedder = providers.embedder()
    vectors = dict(zip(queries, embedder.embed(queries).vectors, strict=True))

    class Cached:
        embedder_id = embedder.embedder_id

        def embed(self, texts):
            return type("R", (), {"vectors": [vectors[t] for t in texts]})()

    modes = {
        "candidates": retrieval_settings(),
        "candidates, NEIGHBOUR_WEIGHT 0": retrieval_settings(overrides={"NEIGHBOUR_WEIGHT": 0.0}),
        "full_text": retrieval_settings(
            overrides={"LEXICAL": "full_text", "TEXT_WEIGHT": 0.8, "MIN_SCORE": 0.3}
        ),
        "vector only": retrieval_settings(overrides={"TEXT_WEIGHT": 0.0}),
    }
    times: dict[str, list[float]] = {name: [] for name in modes}
    real_embedder = selectors.providers.embedder
    selectors.providers.embedder = lambda *a, **k: Cached()
    try:
        for n, query in enumerate(queries, start=1):
            for name, values in modes.items():
                started = time.perf_counter()
                selectors.retrieval_scored(
                    query, site=None, locale=None, limit=values.candidates, settings=values
                )
                times[name].append((time.perf_counter() - started) * 1000)
            if n % 50 == 0:
                print(f"  {n}/{len(queries)} queries", flush=True)
    finally:
        selectors.providers.embedder = real_embedder
        if not args.keep:
            KnowledgeChunk.objects.filter(page_id__gte=pad_base).delete()
    print(f"{'retrieval (SQL + scoring), ' + str(total) + ' chunks':<40} {'p50 ms':>7} {'p95 ms':>7}")
    for name, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(f"{name:<40} {statistics.median(values):>7.1f} {p95:>7.1f}")
    print(json.dumps({name: round(statistics.median(v), 2) for name, v in times.items()}))


def distinct_pages(ids, page_of: dict[int, str]) -> list[str]:
    """The labelled pages of chunk ids, each once, in the order of its best chunk (how the sets
    count ranks)."""
    out: list[str] = []
    for pk in ids:
        slug = page_of.get(pk)
        if slug and slug not in out:
            out.append(slug)
    return out


def grid(args) -> None:
    """Score retrieval variants per set from ``collect``'s file, in Python (no database).

    Cells are MRR@10 / hit@5 over pages. Every variant starts from the same candidates, so the
    rows differ only in how they are scored. Term shares come from an exact ``ts_stat`` count here;
    ``retrieve`` reads PostgreSQL's statistics instead (``rag_eval`` checks that end to end).
    """
    import json

    from ai_core.rag.fusion import Candidate, Ranked, lexical_rescore, term_weights, weighted_rrf

    data = json.loads(args.features[0].read_text())
    for more in args.features[1:]:  # sets collected in several runs over the same index
        data["sets"].update(json.loads(more.read_text())["sets"])
    page_of = {int(k): v for k, v in data["page_of"].items()}
    shares = {term: n / data["chunks"] for term, n in data["df"].items()}

    def pages(ids):
        return distinct_pages(ids, page_of)

    def terms_of(run, pk, fields):
        info = run["lex"].get(str(pk)) or {"head": [], "body": []}
        return frozenset(info["body"]) | (frozenset(info["head"]) if fields == "all" else frozenset())

    def rescored(run, *, text_weight, fields="all", idf=True, cut=1.0, depth=40):
        candidates = [
            Candidate(id=pk, similarity=sim, terms=terms_of(run, pk, fields))
            for pk, sim in run["vector"][:depth]
        ]
        weights = (
            term_weights(run["lexemes"], frequencies=shares, max_frequency=cut)
            if idf
            else dict.fromkeys(run["lexemes"], 1.0)
        )
        return lexical_rescore(candidates, weights=weights, vector_weight=1.0, text_weight=text_weight)

    def linear(**kw):
        return lambda run: pages([f.id for f in rescored(run, **kw)])

    def aggregated(bonus, **kw):
        def rank(run):
            by_page: dict[str, list[float]] = {}
            for f in rescored(run, **kw):
                by_page.setdefault(page_of.get(f.id, ""), []).append(f.score)
            score = {p: v[0] + bonus * (v[1] if len(v) > 1 else 0) for p, v in by_page.items() if p}
            return sorted(score, key=lambda p: -score[p])

        return rank

    def full_text(weight, k):
        def rank(run):
            lists = {
                "vector": [Ranked(id=pk, evidence=e) for pk, e in run["vector"][:40]],
                "text": [Ranked(id=pk, evidence=e) for pk, e in run["text"][:40]],
            }
            return pages([f.id for f in weighted_rrf(lists, weights={"vector": 1.0, "text": weight}, k=k)])

        return rank

    def restricted_rrf(weight, k, idf=True):
        def rank(run):
            scored = rescored(run, text_weight=1.0, idf=idf)  # evidence["text"] = weighted coverage
            lexical = sorted((f for f in scored if "text" in f.evidence), key=lambda f: -f.evidence["text"])
            lists = {
                "vector": [Ranked(id=pk, evidence=e) for pk, e in run["vector"][:40]],
                "text": [Ranked(id=f.id, evidence=f.evidence["text"]) for f in lexical],
            }
            return pages([f.id for f in weighted_rrf(lists, weights={"vector": 1.0, "text": weight}, k=k)])

        return rank

    variants = {
        "vector only": lambda run: pages([pk for pk, _ in run["vector"][:40]]),
        "full_text RRF, text 0.8, k 120 (shipped)": full_text(0.8, 120),
        "full_text RRF, text 0.3, k 120": full_text(0.3, 120),
        "full_text RRF, text 0.2, k 60": full_text(0.2, 60),
        "candidates RRF, text 0.4, k 60, IDF": restricted_rrf(0.4, 60),
        "candidates RRF, text 0.4, k 60, no IDF": restricted_rrf(0.4, 60, idf=False),
        "candidates RRF, text 0.8, k 120, IDF": restricted_rrf(0.8, 120),
    }
    for weight in (0.1, 0.2, 0.3, 0.5):
        variants[f"candidates linear, text {weight}, IDF"] = linear(text_weight=weight)
        variants[f"candidates linear, text {weight}, no IDF"] = linear(text_weight=weight, idf=False)
    variants["candidates linear, text 0.2, IDF, body only (no title/heading)"] = linear(
        text_weight=0.2, fields="body"
    )
    variants["candidates linear, text 0.2, IDF, 100 candidates"] = linear(text_weight=0.2, depth=100)
    for cut in (0.05, 0.1, 0.2):
        variants[f"candidates linear, text 0.2, IDF cut-off {cut}"] = linear(text_weight=0.2, cut=cut)
    for bonus in (0.05, 0.2):
        variants[f"candidates linear, text 0.2, IDF, page + {bonus} x 2nd chunk"] = aggregated(
            bonus, text_weight=0.2
        )

    sets = {name: [r for r in runs if r["relevant"]] for name, runs in data["sets"].items()}
    sets = {name: runs for name, runs in sets.items() if runs}
    print("| variant | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    for name, rank in variants.items():
        cells = []
        for runs in sets.values():
            reciprocal = hit5 = 0.0
            for run in runs:
                found = rank(run)[:10]
                place = next((i for i, slug in enumerate(found, start=1) if slug in run["relevant"]), None)
                reciprocal += 1 / place if place else 0.0
                hit5 += bool(place and place <= 5)
            cells.append(f"{reciprocal / len(runs):.3f} / {hit5 / len(runs):.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")

    print("\nMinimum score sweep (candidates linear, text 0.2, IDF): answerable kept, unanswerable rejected")
    for floor in args.floors:
        cells = []
        for name, runs in data["sets"].items():
            top = [(bool(r["relevant"]), rescored(r, text_weight=0.2)) for r in runs]
            kept = sum(1 for positive, f in top if positive and f and f[0].score >= floor)
            rejected = sum(1 for positive, f in top if not positive and not (f and f[0].score >= floor))
            positives = sum(1 for positive, _ in top if positive)
            cells.append(f"{name}: {kept}/{positives} kept, {rejected}/{len(top) - positives} rejected")
        print(f"  {floor:.2f}  " + "; ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    loader = sub.add_parser("load", help="import demo content and the third-party sets, then index")
    loader.add_argument("--only", nargs="*", choices=sorted(SETS), help="third-party sets to import")
    collector = sub.add_parser("collect", help="retrieve every labelled query once and store the candidates")
    collector.add_argument("files", nargs="+", type=Path)
    collector.add_argument("--depth", type=int, default=100, help="vector candidates kept per query")
    collector.add_argument("--out", type=Path, required=True)
    timer = sub.add_parser("latency", help="time retrieval SQL per LEXICAL mode on a padded index")
    timer.add_argument("files", nargs="+", type=Path, help="labelled sets whose questions are timed")
    timer.add_argument("--chunks", type=int, default=10_000)
    timer.add_argument("--queries", type=int, default=200)
    timer.add_argument("--keep", action="store_true", help="leave the padded rows in place")
    scorer = sub.add_parser("grid", help="score variants per set from a collect file (no database)")
    scorer.add_argument("features", type=Path, nargs="+")
    scorer.add_argument("--floors", type=float, nargs="+", default=[0.25, 0.28, 0.3, 0.32, 0.35, 0.4])
    args = parser.parse_args()
    {"load": load, "collect": collect, "latency": latency, "grid": grid}[args.command](args)


if __name__ == "__main__":
    main()
