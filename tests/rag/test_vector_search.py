"""The vector side of retrieval: filtered HNSW searches still fill their list (iterative index
scans), and the HNSW settings an operator can get wrong fail ``manage.py check``."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from ai_core.rag.checks import pgvector_version_check, pgvector_version_problems, retrieval_settings_check
from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from ai_core.rag.selectors import retrieve

from .chunk_rows import write_chunks

pytestmark = pytest.mark.django_db

ROWS, FRENCH = 1000, 20  # the site+locale filter keeps 2% of the rows


@pytest.fixture
def crowded_index(fake_embedder):
    """1,000 chunks of shared documents, 20 of them on site 2 in French, spread at random over
    the vector space (so the filter gets no help from the graph's neighbourhoods). Their text
    shares no word with the question: only the vector search can find them.

    At this size the planner rightly answers a filter this selective with an exact scan (which
    finds every row anyway); from about 100k chunks it takes the HNSW index (bench/rag_retrieval.py
    EXPLAINs it). The planner switches below make it take the index path here too, for this
    test's transaction only."""
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(ROWS, 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = {
        scope: KnowledgeDocument.objects.create(
            bucket="b",
            key=f"{scope[0]}-{scope[1]}",
            title="Doc",
            url="/doc",
            site_id=scope[0],
            locale=scope[1],
        )
        for scope in ((1, "en"), (2, "fr"))
    }
    french = set(rng.choice(ROWS, FRENCH, replace=False).tolist())
    write_chunks(
        vectors,
        lambda n: docs[(2, "fr") if n in french else (1, "en")],
        lambda n: f"filler passage {n}",
        fake_embedder.embedder_id,
    )
    with connection.cursor() as cursor:
        for switch in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {switch} = off")
    return {"french": FRENCH}


def _with_retrieval(settings, **changes):
    settings.AI_CORE = {**settings.AI_CORE, "RETRIEVAL": {**settings.AI_CORE["RETRIEVAL"], **changes}}


def test_a_filter_that_keeps_few_chunks_still_returns_top_k_when_they_exist(crowded_index, settings):
    found = retrieve("quarterly tide almanac", site=2, locale="fr", top_k=10, min_score=0)
    assert len(found) == 10
    assert {KnowledgeChunk.objects.get(pk=r.chunk_id).locale for r in found} == {"fr"}


def test_without_iterative_scans_the_same_filtered_search_comes_back_short(crowded_index, settings):
    """The control for the test above: it proves the HNSW index serves that query (an exact scan
    would fill the list either way) and that ITERATIVE_SCAN is what fills it."""
    _with_retrieval(settings, ITERATIVE_SCAN="off")
    found = retrieve("quarterly tide almanac", site=2, locale="fr", top_k=10, min_score=0)
    assert len(found) < 10


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ITERATIVE_SCAN", "fast", "ITERATIVE_SCAN'] must be one of relaxed_order, strict_order, off"),
        ("EF_SEARCH", 0, "EF_SEARCH'] must be an integer from 1 to 1000"),
        ("EF_SEARCH", 5000, "EF_SEARCH'] must be an integer from 1 to 1000"),
        ("EF_SEARCH", "100", "EF_SEARCH'] must be an integer from 1 to 1000"),
        ("SCOPE_EF_SEARCH", 0, "SCOPE_EF_SEARCH'] must be an integer from 1 to 1000"),
        ("SCOPE_EF_SEARCH", True, "SCOPE_EF_SEARCH'] must be an integer from 1 to 1000"),
        ("MAX_SCAN_TUPLES", 0, "MAX_SCAN_TUPLES'] must be a positive integer"),
        ("MAX_SCAN_TUPLES", 2.5, "MAX_SCAN_TUPLES'] must be a positive integer"),
    ],
)
def test_bad_hnsw_settings_fail_manage_py_check(settings, key, value, message):
    assert retrieval_settings_check() == []
    _with_retrieval(settings, **{key: value})
    (error,) = retrieval_settings_check()
    assert error.id == "rag.E001" and message in error.msg


def test_the_installed_pgvector_passes_the_version_check():
    assert pgvector_version_check(databases=["default"]) == []


@pytest.mark.parametrize(
    ("version", "ids"),
    [("0.6.2", ["rag.E020"]), ("0.7.4", ["rag.W020"]), ("0.8.0", []), ("0.10.1", []), ("1.0.0", [])],
)
def test_pgvector_without_halfvec_or_iterative_scans_is_reported(version, ids):
    assert [m.id for m in pgvector_version_problems(version)] == ids


@pytest.mark.django_db(transaction=True)
def test_the_search_settings_hold_for_the_vector_query_and_end_with_it(fake_embedder, section, publish):
    """Outside any transaction (how a worker runs retrieve()), the HNSW settings are sent with the
    vector query in one string: they must not stay on the connection for whatever runs next on it
    (a pooled connection serves other requests)."""
    publish(section, title="Tides", slug="tides", intro="", items=[("p", "Tide tables for the harbour.")])

    def show() -> tuple[str, str, str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan'), "
                "current_setting('hnsw.max_scan_tuples')"
            )
            return cursor.fetchone()

    assert connection.get_autocommit()
    before = show()
    assert retrieve("tide tables", site=None, locale="en", min_score=0)
    assert show() == before
    assert before[0] != "200"  # the default, not the retrieval's EF_SEARCH (a test that can fail)
