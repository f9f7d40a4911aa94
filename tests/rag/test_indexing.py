"""Page indexing: chunks, anchors, skipping unchanged work, partial re-embedding, no duplicates."""

from __future__ import annotations

import uuid

import pytest
from wagtail.rich_text import RichText

from ai_core.models import LLMUsageLog
from ai_core.rag.models import KnowledgeChunk, PageIndexState
from content.indexing import page_index_sync

from .fakes import HashEmbedder

pytestmark = pytest.mark.django_db

ITEMS = [
    ("p", "Annual plans can be refunded within 30 days of purchase."),
    ("h2", "How to ask"),
    ("p", "Write to billing@example.com with your invoice number."),
    ("h2", "Exceptions"),
    ("p", "Add-ons bought separately are not refundable."),
]


def chunks_of(page) -> list[KnowledgeChunk]:
    return list(KnowledgeChunk.objects.filter(page_id=page.pk).order_by("position"))


def test_publishing_stores_chunks_with_block_anchors_and_metadata(fake_embedder, section, publish):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS, intro="Money back.")
    chunks = chunks_of(page)
    headings = [c.heading_path for c in chunks]
    assert headings == ["", "How to ask", "Exceptions"]
    heading_block = next(
        b for b in page.body if b.block_type == "heading" and b.value["text"] == "How to ask"
    )
    assert chunks[1].block_ids[0] == heading_block.id
    assert chunks[1].anchor_url == f"/guides/refunds/#block-{heading_block.id}"
    assert chunks[0].text.startswith("Money back.")  # the intro is indexed too, before the body
    assert {c.page_revision_id for c in chunks} == {page.live_revision_id}
    assert {c.embedder_id for c in chunks} == {fake_embedder.embedder_id}
    assert {(c.site_id, c.locale, c.title) for c in chunks} == {(page.get_site().pk, "en", "Refunds")}
    state = PageIndexState.objects.get(page_id=page.pk)
    assert (state.chunk_count, state.embedded, state.reused, state.status) == (3, 3, 0, "indexed")


def test_embedding_calls_are_batched_and_logged_against_the_page(fake_embedder, section, publish):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS)
    assert len(HashEmbedder.calls) == 1 and len(HashEmbedder.calls[0]) == 3
    log = LLMUsageLog.objects.get(operation="embedding")
    assert (log.subject_type, log.subject_id, log.model) == ("page", str(page.pk), HashEmbedder.model)


def test_republishing_an_unchanged_page_makes_no_embedding_call(fake_embedder, section, publish):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS)
    ids_before = [c.pk for c in chunks_of(page)]
    HashEmbedder.calls = []
    publish(section, title="Refunds", slug="refunds", page=page)
    assert HashEmbedder.calls == []
    assert [c.pk for c in chunks_of(page)] == ids_before
    state = PageIndexState.objects.get(page_id=page.pk)
    assert (state.embedded, state.reused, state.removed) == (0, 3, 0)
    assert {c.page_revision_id for c in chunks_of(page)} == {page.live_revision_id}


def test_changing_one_block_re_embeds_only_that_chunk(fake_embedder, section, publish):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS)
    before = {c.heading_path: c.pk for c in chunks_of(page)}
    raw = list(page.body.raw_data)
    raw[4] = {**raw[4], "value": "<p>Add-ons are refundable only if unused.</p>"}
    page.body = raw
    HashEmbedder.calls = []
    publish(section, title="Refunds", slug="refunds", page=page)
    assert len(HashEmbedder.calls) == 1 and len(HashEmbedder.calls[0]) == 1
    assert "only if unused" in HashEmbedder.calls[0][0]
    after = {c.heading_path: c.pk for c in chunks_of(page)}
    assert after[""] == before[""] and after["How to ask"] == before["How to ask"]
    assert after["Exceptions"] != before["Exceptions"]
    state = PageIndexState.objects.get(page_id=page.pk)
    assert (state.embedded, state.reused, state.removed) == (1, 2, 1)


def test_a_title_change_re_embeds_every_chunk_because_the_header_changed(fake_embedder, section, publish):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS)
    HashEmbedder.calls = []
    publish(section, title="Refund policy", slug="refunds", page=page)
    assert sum(len(c) for c in HashEmbedder.calls) == 3


def test_drafts_are_never_indexed(fake_embedder, section, publish):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS)
    page.body = [("paragraph", RichText("<p>Secret draft wording about a price rise.</p>"))]
    page.save_revision()  # saved, not published
    page_index_sync(page_id=page.pk)
    assert not any("price rise" in c.text for c in chunks_of(page))
    assert len(chunks_of(page)) == 3


def test_indexing_twice_never_duplicates_chunks(fake_embedder, section, publish):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS)
    for _ in range(3):
        page_index_sync(page_id=page.pk)
    assert KnowledgeChunk.objects.filter(page_id=page.pk).count() == 3
    positions = list(KnowledgeChunk.objects.filter(page_id=page.pk).values_list("position", flat=True))
    assert sorted(positions) == [0, 1, 2]


def test_identical_paragraphs_on_one_page_are_both_kept(fake_embedder, section, publish):
    items = [("h2", "A"), ("p", "Same words here."), ("h2", "A"), ("p", "Same words here.")]
    page = publish(section, title="Twins", slug="twins", items=items, intro="")
    assert len(chunks_of(page)) == 2
    HashEmbedder.calls = []
    page_index_sync(page_id=page.pk)
    assert HashEmbedder.calls == [] and len(chunks_of(page)) == 2


def test_a_large_page_is_written_in_a_constant_number_of_queries(
    fake_embedder, section, publish, django_assert_max_num_queries
):
    items = []
    for n in range(60):
        items += [
            ("h2", f"Section {n}"),
            ("p", f"Paragraph {n} explains rule {uuid.uuid4().hex[:6]} in a sentence."),
        ]
    page = publish(section, title="Big", slug="big", items=items, intro="")
    assert len(chunks_of(page)) == 60
    KnowledgeChunk.objects.filter(page_id=page.pk).delete()
    with django_assert_max_num_queries(40):
        page_index_sync(page_id=page.pk)
    assert len(chunks_of(page)) == 60
