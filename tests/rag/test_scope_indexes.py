"""Scope indexes (``manage.py rag_scope_indexes``): a partial HNSW index per small site+locale scope
that the planner picks for questions in that scope, without changing what they retrieve.

Transactional: the indexes are built ``CONCURRENTLY``, which cannot run inside the test's
transaction. At this size the planner would answer every search with an exact scan; the planner
switches (as in test_vector_search.py) leave it the index paths only, so the choice between the
full index and a scope index is the one a 100k-chunk database makes (bench/rag_retrieval.py
EXPLAINs that at scale).
"""

from __future__ import annotations

from contextlib import contextmanager
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from wagtail.models import Site

from ai_core.rag.conf import retrieval_settings
from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from ai_core.rag.selectors import _scope_sql, retrieve, vector_query_sql
from ai_core.rag.services.scope_indexes import PREFIX, scope_index_name

from .conftest import ensure_wagtail_initial_data

pytestmark = pytest.mark.django_db(transaction=True)

FULL_INDEX = "rag_chunk_hnsw_half_384"
# Site A's English chunks dominate; site B's English ones (with the shared English documents)
# qualify; site B's French ones are too few.
OWN = {("a", "en"): 200, ("b", "en"): 80, ("b", "fr"): 20}
SHARED_EN = 40
TOTAL = sum(OWN.values()) + SHARED_EN  # 340
QUESTION = "quarterly tide almanac"  # no word in common with the chunks: only vectors decide


def scope_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname LIKE %s",
            [KnowledgeChunk._meta.db_table, PREFIX + "%"],
        )
        return {name for (name,) in cursor.fetchall()}


def drop_scope_indexes() -> None:
    with connection.cursor() as cursor:
        for name in scope_indexes():
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


def run(*args) -> str:
    out = StringIO()
    call_command("rag_scope_indexes", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def scopes(fake_embedder, settings):
    """Two live sites and 340 chunks of random vectors: pages of sites A and B, and shared library
    documents (no site) that every site's English scope includes."""
    settings.AI_CORE = {
        **settings.AI_CORE,
        # The chunks' pages and documents are stand-ins: no page tree or library to check against.
        "RETRIEVAL": {**settings.AI_CORE["RETRIEVAL"], "PAGE_ACCESS_CHECK": "", "DOCUMENT_ACCESS_CHECK": ""},
    }
    drop_scope_indexes()
    root = ensure_wagtail_initial_data()
    sites = {key: Site.objects.create(hostname=f"{key}.example", root_page=root).pk for key in ("a", "b")}
    rng = np.random.default_rng(7)
    library = KnowledgeDocument.objects.create(bucket="b", key="shared", title="Doc", url="/doc", locale="en")
    chunks, n = [], 0
    for (site, locale), count in [*OWN.items(), ((None, "en"), SHARED_EN)]:
        for i in range(count):
            vector = rng.normal(size=384)
            chunks.append(
                KnowledgeChunk(
                    page_id=None if site is None else 70_000 + n // 4,
                    document=library if site is None else None,
                    position=n % 4 if site else i,
                    site_id=None if site is None else sites[site],
                    locale=locale,
                    title="Chunk",
                    text=f"filler passage {n}",
                    content_hash=f"{n:064x}",
                    embedder_id=fake_embedder.embedder_id,
                    dimensions=384,
                    embedding=(vector / np.linalg.norm(vector)).tolist(),
                )
            )
            n += 1
    KnowledgeChunk.objects.bulk_create(chunks, batch_size=500)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {KnowledgeChunk._meta.db_table}")
    yield {"sites": sites, "embedder_id": fake_embedder.embedder_id}
    drop_scope_indexes()


@contextmanager
def index_paths_only():
    with transaction.atomic(), connection.cursor() as cursor:
        for switch in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {switch} = off")
        yield cursor


def plan_of(scopes, *, site: str, locale: str, within_page: int | None = None) -> str:
    """EXPLAIN of the vector query exactly as retrieval sends it (client-side bound values)."""
    where, params = _scope_sql(site=scopes["sites"][site], locale=locale, within_page=within_page)
    vector = "[" + ",".join(["0.05"] * 384) + "]"
    with index_paths_only() as cursor:
        cursor.execute(
            "EXPLAIN " + vector_query_sql(384, where), [vector, scopes["embedder_id"], *params, vector, 40]
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def search(
    scopes, *, site: str, locale: str = "en", within_page: int | None = None
) -> list[tuple[int, float]]:
    with index_paths_only():
        found = retrieve(
            QUESTION, site=scopes["sites"][site], locale=locale, within_page=within_page, top_k=8, min_score=0
        )
    return [(r.chunk_id, r.score) for r in found]


def b_english_index(scopes) -> str:
    return scope_index_name(dimensions=384, site_id=scopes["sites"]["b"], locale="en")


def test_plan_lists_each_scope_with_its_share_and_changes_nothing(scopes):
    output = run("--plan", "--min-rows", "50")
    assert scope_indexes() == set()
    lines = {
        line.split()[1] + "/" + line.split()[2]: line for line in output.splitlines()[2:] if "384" in line
    }
    a, b = scopes["sites"]["a"], scopes["sites"]["b"]
    assert "240" in lines[f"{a}/en"] and "70.6%" in lines[f"{a}/en"] and "no index" in lines[f"{a}/en"]
    assert "120" in lines[f"{b}/en"] and "35.3%" in lines[f"{b}/en"]
    assert lines[f"{b}/en"].split()[5:7] == [b_english_index(scopes), "create"]
    assert "under --min-rows 50" in lines[f"{b}/fr"]
    assert "Plan only: nothing changed. A run would create 1, drop 0 and keep 0." in output


def test_a_qualifying_scope_gets_an_index_and_small_or_dominant_ones_do_not(scopes):
    output = run("--min-rows", "50", "--maintenance-work-mem", "64MB")
    assert scope_indexes() == {b_english_index(scopes)}
    assert f"[1/1] building {b_english_index(scopes)}" in output
    assert "Created 1" in output
    assert "Created 0" in run("--min-rows", "50") and "kept 1" in run("--min-rows", "50")


def graph_options(index: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [index])
        (options,) = cursor.fetchone()
    return dict(option.split("=", 1) for option in options)


def test_a_scope_index_is_built_with_the_full_indexes_graph_options(scopes):
    """A scope index is searched at its own breadth on the promise that it is as good a graph as
    the full index (scopes.HNSW_OPTIONS against the migrations): the two must not drift apart."""
    run("--min-rows", "50")
    full = graph_options(FULL_INDEX)
    assert full == graph_options(b_english_index(scopes))
    assert full == {"m": "16", "ef_construction": "128"}  # migration rag 0009; 1M recall, BENCHMARKS


def test_the_retrieval_query_for_that_scope_uses_its_index(scopes):
    assert FULL_INDEX in plan_of(scopes, site="b", locale="en")
    run("--min-rows", "50")
    plan = plan_of(scopes, site="b", locale="en")
    assert b_english_index(scopes) in plan and FULL_INDEX not in plan, plan
    # Other scopes keep the full index; a page question in the scope uses the scope's index too.
    assert FULL_INDEX in plan_of(scopes, site="a", locale="en")
    assert FULL_INDEX in plan_of(scopes, site="b", locale="fr")
    assert b_english_index(scopes) in plan_of(scopes, site="b", locale="en", within_page=70_050)


def test_retrieval_returns_the_same_chunks_with_and_without_the_scope_index(scopes):
    page = KnowledgeChunk.objects.filter(site_id=scopes["sites"]["b"], locale="en").first().page_id
    before = search(scopes, site="b")
    before_page = search(scopes, site="b", within_page=page)
    run("--min-rows", "50")
    assert scope_indexes() == {b_english_index(scopes)}
    assert search(scopes, site="b") == before and len(before) == 8
    assert search(scopes, site="b", within_page=page) == before_page
    assert {c.page_id for c in KnowledgeChunk.objects.filter(pk__in=[pk for pk, _ in before_page])} == {page}
    in_scope = KnowledgeChunk.objects.filter(pk__in=[pk for pk, _ in before])
    assert {(c.site_id, c.locale) for c in in_scope} <= {(scopes["sites"]["b"], "en"), (None, "en")}


def search_breadth(scopes, *, site: str, locale: str = "en", within_page: int | None = None) -> str:
    """The hnsw.ef_search that ``retrieve()``'s vector search ran with: its settings are local to
    the transaction, so inside one they are still there after it."""
    narrow = retrieval_settings(overrides={"EF_SEARCH": 200, "SCOPE_EF_SEARCH": 50})
    with index_paths_only() as cursor:
        found = retrieve(
            QUESTION, site=scopes["sites"][site], locale=locale, within_page=within_page, min_score=0,
            settings=narrow,
        )  # fmt: skip
        assert found
        cursor.execute("SELECT current_setting('hnsw.ef_search')")
        return cursor.fetchone()[0]


def test_a_scope_with_its_own_index_is_searched_at_the_scope_breadth_while_the_index_is_usable(scopes):
    assert search_breadth(scopes, site="b") == "200"  # no index yet: the full index's breadth
    run("--min-rows", "50")
    assert search_breadth(scopes, site="b") == "50"
    # Scopes without an index, and one page's chunks, keep the full breadth.
    assert search_breadth(scopes, site="a") == "200"
    assert search_breadth(scopes, site="b", locale="fr") == "200"
    page = KnowledgeChunk.objects.filter(site_id=scopes["sites"]["b"], locale="en").first().page_id
    assert search_breadth(scopes, site="b", within_page=page) == "200"
    # A failed concurrent build leaves an invalid index behind, which serves no query: the full
    # breadth again. (A unique index over the chunks' equal titles fails the same way, by name.)
    drop_scope_indexes()
    with connection.cursor() as cursor, pytest.raises(IntegrityError):
        cursor.execute(
            f"CREATE UNIQUE INDEX CONCURRENTLY {b_english_index(scopes)} ON {KnowledgeChunk._meta.db_table} (title)"
        )
    assert scope_indexes() == {b_english_index(scopes)}
    assert search_breadth(scopes, site="b") == "200"


def test_a_deleted_site_loses_its_index_on_the_next_run(scopes):
    run("--min-rows", "50")
    assert scope_indexes() == {b_english_index(scopes)}
    Site.objects.filter(pk=scopes["sites"]["b"]).delete()  # its chunks are still there for now
    assert f"site {scopes['sites']['b']} does not exist" in run("--plan", "--min-rows", "50")
    output = run("--min-rows", "50")
    assert f"dropping {b_english_index(scopes)}" in output and "dropped 1" in output
    assert scope_indexes() == set()


def test_an_index_whose_scope_grew_dominant_is_dropped(scopes):
    run("--min-rows", "50")
    # Site B's English scope is 120 of 340 rows (35%): past 0.25 by more than the 20% band.
    assert "dropped 1" in run("--min-rows", "50", "--max-share", "0.25")
    assert scope_indexes() == set()


def test_an_index_at_a_limit_is_kept_until_its_scope_is_clearly_past_it(scopes):
    run("--min-rows", "50")
    # 35% of the rows against --max-share 0.3, and 120 rows against --min-rows 140: past both
    # limits, within 20% of each. A new index would not be built; the existing one stays.
    assert "dropped" not in run("--min-rows", "50", "--max-share", "0.3").replace("dropped 0", "")
    assert scope_indexes() == {b_english_index(scopes)}
    run("--min-rows", "140")
    assert scope_indexes() == {b_english_index(scopes)}
    assert "dropped 1" in run("--min-rows", "151")  # 120 < 0.8 x 151
    assert scope_indexes() == set()
    run("--min-rows", "140")
    assert scope_indexes() == set()  # and it is not built again at 140 either


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-share", "0"], "--max-share must be above 0 and at most 1"),
        (["--max-share", "1.5"], "--max-share must be above 0 and at most 1"),
        (["--max-share", "half"], "invalid float value"),
        (["--min-rows", "0"], "--min-rows must be at least 1"),
        (["--maintenance-work-mem", "lots"], "--maintenance-work-mem 'lots' is not a memory size"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(scopes, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert scope_indexes() == set()


def test_inside_a_transaction_it_refuses_instead_of_failing_halfway(scopes):
    with transaction.atomic(), pytest.raises(CommandError, match="cannot run inside a transaction"):
        run("--min-rows", "50")


def test_the_daily_beat_task_builds_what_the_command_would_and_skips_while_a_run_holds_the_lock(scopes):
    from django.conf import settings as django_settings
    from django.db import connections

    from ai_core.rag.services.scope_indexes import _LOCK_KEY
    from ai_core.rag.tasks import scope_indexes_sync
    from site_config.celery_routes import task_queue

    entry = django_settings.CELERY_BEAT_SCHEDULE["rag-scope-indexes-sync"]
    assert entry["task"] == scope_indexes_sync.name and entry["schedule"] == 24 * 3600.0
    assert task_queue(scope_indexes_sync.name, base="q") == "q.maintenance"

    other = connections.create_connection("default")  # another run (the command, a redelivered copy)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
        assert "skipped" in scope_indexes_sync.apply(kwargs={"min_rows": 50}).get()
        assert scope_indexes() == set()
    finally:
        # Released by that session before it closes: a closed connection's backend drops its locks
        # as it exits, after the client has moved on, so the next run could still find it held.
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
        other.close()
    report = scope_indexes_sync.apply(kwargs={"min_rows": 50}).get()
    assert report["created"] == [b_english_index(scopes)] and scope_indexes() == {b_english_index(scopes)}
    assert scope_indexes_sync.apply(kwargs={"min_rows": 50}).get() == {
        "created": [],
        "dropped": [],
        "kept": 1,
    }
