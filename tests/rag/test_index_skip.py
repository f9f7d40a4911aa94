"""Re-indexing skips pages nothing changed for, before chunking, and redoes every page something did.

"Something" is anything that changes what the index would store for the page: its revision,
title, intro or body (also saved without a revision), URL (slug, move, a second site), locale,
visibility (unpublished, private, public again), the embedder, the chunk budget, the chunker or
segmenter code, chunks removed behind the index's back, and an operator's ``force``.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Locale, Page, PageViewRestriction, Site

from ai_core import providers
from ai_core.rag.models import KnowledgeChunk, PageIndexState
from content import indexing
from content.indexing import page_index_sync, pages_index_sync, pages_needing_index
from tests.content.factories import ArticleIndexPageFactory, HomePageFactory

from .fakes import HashEmbedder

pytestmark = pytest.mark.django_db

ITEMS = [
    ("p", "Annual plans can be refunded within 30 days of purchase."),
    ("h2", "How to ask"),
    ("p", "Write to billing@example.com with your invoice number."),
]


@pytest.fixture
def page(fake_embedder, section, publish):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS, intro="Money back.")
    assert KnowledgeChunk.objects.filter(page_id=page.pk).count() == 2
    HashEmbedder.calls = []
    return page


def needs_work(page) -> bool:
    return pages_needing_index(page_ids=[page.pk]) == [page.pk]


def test_an_unchanged_page_costs_no_embedding_call_and_no_write(page):
    state_before = PageIndexState.objects.get(page_id=page.pk)
    with CaptureQueriesContext(connection) as queries:
        totals = pages_index_sync(page_ids=[page.pk])
    assert (totals.pages, totals.skipped, totals.embedded, totals.failed) == (1, 1, 0, {})
    assert HashEmbedder.calls == []
    writes = [
        q["sql"] for q in queries if q["sql"].lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == []
    assert len(queries) <= 8  # a batch's check, not a page's indexing
    assert PageIndexState.objects.get(page_id=page.pk).indexed_at == state_before.indexed_at


def test_the_check_costs_the_same_few_queries_for_many_pages(fake_embedder, section, publish):
    pages = [publish(section, title=f"Page {n}", slug=f"page-{n}", items=ITEMS) for n in range(12)]
    with CaptureQueriesContext(connection) as queries:
        todo = pages_needing_index(page_ids=[p.pk for p in pages])
    assert todo == []
    assert len(queries) <= 8


def test_republishing_with_the_same_content_is_redone_for_the_new_revision(page, publish, section):
    page = publish(section, title="Refunds", slug="refunds", page=page)
    # publish() indexed it; the check sees the new revision recorded, so nothing is left to do...
    assert not needs_work(page)
    assert set(KnowledgeChunk.objects.filter(page_id=page.pk).values_list("page_revision_id", flat=True)) == {
        page.live_revision_id
    }
    # ...while a revision published without indexing is work.
    revision = page.save_revision()
    Page.objects.filter(pk=page.pk).update(live_revision=revision)
    assert needs_work(page)


def test_a_body_saved_without_a_revision_is_redone(page):
    raw = list(page.body.raw_data)
    raw[2] = {**raw[2], "value": "<p>Write to refunds@example.com instead.</p>"}
    page.body = raw
    page.save()
    assert needs_work(page)
    totals = pages_index_sync(page_ids=[page.pk])
    assert (totals.skipped, totals.embedded) == (0, 1)
    assert KnowledgeChunk.objects.filter(page_id=page.pk, text__contains="refunds@example.com").exists()
    assert not needs_work(page)


@pytest.mark.parametrize(("field", "value"), [("title", "Refund policy"), ("intro", "Your money back.")])
def test_a_title_or_intro_change_is_redone(page, field, value):
    setattr(page, field, value)
    page.save()
    assert needs_work(page)


def test_a_new_slug_is_redone_and_stores_the_new_url(page):
    page.slug = "refund-policy"
    page.save()
    assert needs_work(page)
    pages_index_sync(page_ids=[page.pk])
    assert set(KnowledgeChunk.objects.filter(page_id=page.pk).values_list("url", flat=True)) == {
        "/guides/refund-policy/"
    }


def test_a_move_to_another_section_is_redone(page, home):
    other = ArticleIndexPageFactory(parent=home, title="Billing", slug="billing")
    page.move(other, pos="last-child")
    assert needs_work(page)


def test_a_second_site_changes_the_url_and_is_redone(page):
    # With two sites, Wagtail links pages with their host: every stored URL changes.
    other_home = HomePageFactory(parent=Page.get_first_root_node(), title="Other", slug="other")
    Site.objects.create(hostname="other.example", root_page=other_home)
    assert needs_work(page)


def test_a_site_root_change_that_moves_the_page_out_of_every_site_is_redone(page, home):
    elsewhere = HomePageFactory(parent=Page.get_first_root_node(), title="Elsewhere", slug="elsewhere")
    Site.objects.filter(root_page=home).update(root_page=elsewhere)
    assert needs_work(page)
    pages_index_sync(page_ids=[page.pk])
    assert PageIndexState.objects.get(page_id=page.pk).status == "unroutable"
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()


def test_a_locale_change_is_redone(page):
    french, _ = Locale.objects.get_or_create(language_code="fr")
    Page.objects.filter(pk=page.pk).update(locale=french)
    assert needs_work(page)


def test_an_unpublished_page_is_redone_and_then_left_alone(page):
    Page.objects.filter(pk=page.pk).update(live=False)
    assert needs_work(page)
    pages_index_sync(page_ids=[page.pk])
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()
    assert not needs_work(page)  # stays unpublished: nothing more to do


def test_a_page_made_public_again_is_indexed_again(page, section):
    restriction = PageViewRestriction.objects.create(page=section, restriction_type=PageViewRestriction.LOGIN)
    # The receiver removed the chunks at once; its queued task does not run here.
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()
    restriction.delete()
    # Now exactly as it was when indexed, but without its chunks: not to be skipped.
    assert needs_work(page)
    pages_index_sync(page_ids=[page.pk])
    assert KnowledgeChunk.objects.filter(page_id=page.pk).count() == 2


def test_a_restriction_added_behind_the_receivers_back_is_redone(page, section):
    PageViewRestriction.objects.bulk_create([PageViewRestriction(page=section, restriction_type="login")])
    assert needs_work(page)
    pages_index_sync(page_ids=[page.pk])
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()


def test_a_deleted_page_is_cleaned_up_once(page):
    Page.objects.filter(pk=page.pk).delete()
    assert needs_work(page)
    pages_index_sync(page_ids=[page.pk])
    assert not needs_work(page)


def test_chunks_removed_outside_a_run_are_rebuilt(page):
    KnowledgeChunk.objects.filter(page_id=page.pk).first().delete()
    assert needs_work(page)


def test_another_embedder_redoes_every_page(page, settings):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "EMBEDDERS": {
            **settings.AI_CORE["EMBEDDERS"],
            "fake": {"CLASS": "tests.rag.fakes.HashEmbedder", "OPTIONS": {"dimensions": 256}},
        },
    }
    providers.reset_providers()
    assert needs_work(page)
    totals = pages_index_sync(page_ids=[page.pk])
    assert totals.embedded == 2
    assert set(KnowledgeChunk.objects.filter(page_id=page.pk).values_list("dimensions", flat=True)) == {256}


def test_a_new_chunk_budget_redoes_every_page(page, settings):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "RETRIEVAL": {**settings.AI_CORE.get("RETRIEVAL", {}), "CHUNKING": {"fake": {"max_tokens": 40}}},
    }
    assert needs_work(page)


@pytest.mark.parametrize(
    "constant", ["ai_core.rag.services.indexing.CHUNKER_VERSION", "content.indexing.SEGMENTS_VERSION"]
)
def test_a_chunker_or_segmenter_version_bump_redoes_every_page(page, monkeypatch, constant):
    module, name = constant.rsplit(".", 1)
    monkeypatch.setattr(f"{module}.{name}", 99)
    assert needs_work(page)


def test_force_redoes_an_unchanged_page(page):
    assert pages_needing_index(page_ids=[page.pk], force=True) == [page.pk]
    totals = pages_index_sync(page_ids=[page.pk], force=True)
    assert (totals.skipped, totals.reused) == (0, 2)


def test_a_page_under_an_alias_is_never_skipped(page, section):
    alias = section.create_alias(recursive=True, parent=section.get_parent(), update_slug="guides-copy")
    aliased_page = Page.objects.child_of(alias).get()
    page_index_sync(page_id=aliased_page.pk)
    assert pages_needing_index(page_ids=[aliased_page.pk]) == [aliased_page.pk]
    assert not needs_work(page)


def test_a_page_failing_to_index_is_reported_and_the_others_go_on(page, section, publish, monkeypatch):
    other = publish(section, title="Other", slug="other", items=ITEMS)
    Page.objects.filter(pk__in=[page.pk, other.pk]).update(title="Renamed")
    real = indexing.page_index_sync

    def broken(*, page_id):
        if page_id == page.pk:
            raise RuntimeError("disk full")
        return real(page_id=page_id)

    monkeypatch.setattr(indexing, "page_index_sync", broken)
    totals = pages_index_sync(page_ids=[page.pk, other.pk])
    assert totals.failed == {page.pk: "RuntimeError: disk full"}
    assert totals.pages == 2 and totals.embedded == 2
