"""Hybrid retrieval: fusion of vector and full-text, minimum score, scoping, embedder safety."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.db import connection, transaction

from ai_core import providers
from ai_core.rag.conf import retrieval_settings
from ai_core.rag.models import HNSW_INDEX_TYPE, KnowledgeChunk
from ai_core.rag.selectors import IndexEmbedderMismatchError, retrieve, vector_query_sql
from content.indexing import page_index_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(fake_embedder, section, publish):
    return {
        "refunds": publish(
            section,
            title="Refunds",
            slug="refunds",
            intro="",
            items=[("h2", "Annual plans"), ("p", "Annual invoice refunds are paid within 30 days.")],
        ),
        "invoices": publish(
            section,
            title="Invoices",
            slug="invoices",
            intro="",
            items=[("h2", "Sending"), ("p", "Every invoice is emailed on the first day of the month.")],
        ),
        "security": publish(
            section,
            title="Security",
            slug="security",
            intro="",
            items=[("h2", "Disposal"), ("p", "Disks are wiped to the NIST 800-88 standard when retired.")],
        ),
    }


def test_results_carry_anchor_url_score_and_snippet(pages):
    results = retrieve("annual invoice refunds", site=None, locale="en")
    top = results[0]
    chunk = KnowledgeChunk.objects.get(pk=top.chunk_id)
    assert top.page_id == pages["refunds"].pk
    assert top.url == f"/guides/refunds/#block-{chunk.block_ids[0]}"
    assert 0 < top.score <= 1
    assert "refunds are paid" in top.snippet
    assert top.vector_similarity is not None and top.text_coverage == 1.0


def test_a_chunk_both_retrievers_agree_on_outranks_one_found_by_a_single_retriever(pages):
    results = retrieve("invoice refunds", site=None, locale="en", min_score=0)
    assert results[0].page_id == pages["refunds"].pk  # both words: both lists rank it first
    assert {r.page_id for r in results[:2]} == {pages["refunds"].pk, pages["invoices"].pk}


def test_full_text_finds_stemmed_forms_the_vector_side_misses(pages, settings):
    """'refunding' shares no token with 'refunds' for the hashed embedder; PostgreSQL stems both."""
    text_only = retrieve("refunding", site=None, locale="en", min_score=0.05)
    assert text_only and text_only[0].page_id == pages["refunds"].pk
    assert text_only[0].text_coverage == 1.0


def test_weights_decide_which_retriever_counts(pages):
    query = "emailed refunds"
    base = retrieval_settings()
    vector_only = retrieve(
        query, site=None, locale="en", min_score=0, settings=replace(base, text_weight=0.0)
    )
    similarities = [r.vector_similarity for r in vector_only]
    assert similarities == sorted(similarities, reverse=True)
    text_only = retrieve(
        query, site=None, locale="en", min_score=0.01, settings=replace(base, vector_weight=0.0)
    )
    assert {r.page_id for r in text_only} == {pages["refunds"].pk, pages["invoices"].pk}
    assert all(r.text_coverage for r in text_only)


def test_nothing_above_the_minimum_score_is_an_empty_answer(pages):
    assert retrieve("sourdough baking hydration", site=None, locale="en") == []
    assert retrieve("", site=None, locale="en") == []
    assert retrieve(
        "sourdough baking hydration", site=None, locale="en", min_score=0
    )  # only the floor hid them


def test_within_page_searches_only_that_page(pages):
    results = retrieve("invoice", site=None, locale="en", within_page=pages["refunds"], min_score=0)
    assert results and {r.page_id for r in results} == {pages["refunds"].pk}


def test_site_and_locale_scope_results(pages):
    site_id = pages["refunds"].get_site().pk
    assert retrieve("invoice refunds", site=site_id, locale="en")
    assert retrieve("invoice refunds", site=site_id + 999, locale="en") == []
    assert retrieve("invoice refunds", site=site_id, locale="fr") == []


def test_the_vector_query_can_use_the_hnsw_index():
    """The query's cast and filter must match the partial index expression exactly."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for dims in (384, 1536):
            vector = "[" + ",".join(["0.1"] * dims) + "]"
            cursor.execute("EXPLAIN " + vector_query_sql(dims), [vector, "x", vector, 5])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            index = {"vector": f"rag_chunk_hnsw_{dims}", "halfvec": f"rag_chunk_hnsw_half_{dims}"}[
                HNSW_INDEX_TYPE
            ]
            assert index in plan and f"::{HNSW_INDEX_TYPE}({dims})" in plan, plan


def test_switching_embedder_without_reindexing_is_a_clear_error(pages, settings):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "EMBEDDERS": {
            **settings.AI_CORE["EMBEDDERS"],
            "wide": {"CLASS": "tests.rag.fakes.HashEmbedder", "OPTIONS": {"dimensions": 1536}},
        },
        "DEFAULT_EMBEDDER": "wide",
    }
    providers.reset_providers()
    with pytest.raises(IndexEmbedderMismatchError, match="reindex --all"):
        retrieve("invoice refunds", site=None, locale="en")
    for page in pages.values():
        page_index_sync(page_id=page.pk)
    assert set(KnowledgeChunk.objects.values_list("dimensions", flat=True)) == {1536}
    assert retrieve("invoice refunds", site=None, locale="en")[0].page_id == pages["refunds"].pk
