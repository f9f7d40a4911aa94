"""A question in a scope too small for its own HNSW index (one small site in one language, under
``rag_scope_indexes --min-rows``) reads that scope's rows, not the whole chunk table.

Without the site+locale btree (migration rag 0008) PostgreSQL had no index that served such a
filter and answered it with a sequential scan of every chunk: 110–130 ms for a 50–800-row scope
at 100k chunks (docs/BENCHMARKS.md, "Small scopes"), growing with the table. The planner is left
its own choices here (no switches), as in production.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.db import connection

from ai_core.rag.conf import retrieval_settings
from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from ai_core.rag.selectors import _scope_sql, _search_options, _vector_candidates, _vector_search_sql

from .chunk_rows import write_chunks

pytestmark = pytest.mark.django_db

ROWS, SMALL = 1500, 12  # site 2's English chunks: under 1% of the table
BIG_SITE, SMALL_SITE = 1, 2


@pytest.fixture
def table(fake_embedder):
    """1,500 chunks of library documents at random points of the vector space, 12 of them on the
    small site; text of a realistic length, so the table spans a few hundred pages."""
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(ROWS, 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    small = set(rng.choice(ROWS, SMALL, replace=False).tolist())
    docs = {
        site: KnowledgeDocument.objects.create(
            bucket="b", key=f"site-{site}", title="Doc", url="/doc", site_id=site, locale="en"
        )
        for site in (BIG_SITE, SMALL_SITE)
    }
    filler = " ".join(f"word{n}" for n in range(120))
    write_chunks(
        vectors,
        lambda n: docs[SMALL_SITE if n in small else BIG_SITE],
        lambda n: f"passage {n} {filler}",
        fake_embedder.embedder_id,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {KnowledgeChunk._meta.db_table}")
        cursor.execute("SELECT relpages FROM pg_class WHERE relname = %s", [KnowledgeChunk._meta.db_table])
        (pages,) = cursor.fetchone()
    question = rng.normal(size=384)
    return {
        "embedder_id": fake_embedder.embedder_id,
        "pages": pages,
        "question": (question / np.linalg.norm(question)).tolist(),
        "small": set(small),
        "vectors": vectors,
    }


def search_options(table) -> dict:
    scope = _scope_sql(site=SMALL_SITE, locale="en", within_page=None)
    return _search_options(
        retrieval_settings(),
        embedder_id=table["embedder_id"],
        scope=scope,
        limit=40,
        site=SMALL_SITE,
        locale="en",
        within_page=None,
        dimensions=384,
    )


def test_a_small_scope_reads_its_own_rows_not_the_table(table):
    sql, params = _vector_search_sql(table["question"], **search_options(table))
    settings_sql, query = sql.split("; ", 1)
    with connection.cursor() as cursor:
        cursor.execute(settings_sql, params[: settings_sql.count("%s")])
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + query, params[settings_sql.count("%s") :])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert table["pages"] > 100, (
        f"the table is too small to tell a scan from a lookup: {table['pages']} pages"
    )
    assert "Seq Scan on rag_knowledgechunk" not in plan, plan
    assert "rag_chunk_site_locale" in plan, plan
    top = re.search(r"Buffers: shared (?:hit=(\d+))?\s*(?:read=(\d+))?", plan)
    touched = int(top.group(1) or 0) + int(top.group(2) or 0)
    assert touched < table["pages"] / 4, (
        f"{touched} buffers for a 12-row scope in a {table['pages']}-page table"
    )


def test_a_small_scope_finds_its_exact_nearest_chunks(table):
    with connection.cursor() as cursor:
        found = _vector_candidates(cursor, table["question"], **search_options(table))
    by_position = dict(
        KnowledgeChunk.objects.filter(pk__in=[r.id for r in found]).values_list("pk", "position")
    )
    positions = [by_position[r.id] for r in found]
    distances = 1 - table["vectors"][sorted(table["small"])] @ np.array(table["question"])
    nearest = [sorted(table["small"])[i] for i in np.argsort(distances)]
    assert positions == nearest  # all 12 of the scope's chunks, nearest first, and no other site's
