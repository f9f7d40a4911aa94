"""``chunks_replaced``: a publish that rewrites chunks tells receivers, inside the index run's
transaction, what the removed chunks said and what the page's chunks are now."""

from __future__ import annotations

import pytest
from django.db import connection

from ai_core.rag.api import ChunkSnapshot, chunks_replaced
from ai_core.rag.models import KnowledgeChunk

pytestmark = pytest.mark.django_db

ITEMS = [
    ("h2", "Annual plans"),
    ("p", "Annual plans are refunded within 30 days."),
    ("h2", "Monthly plans"),
    ("p", "Monthly plans are not refunded."),
]


@pytest.fixture
def received():
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append({**kwargs, "in_transaction": connection.in_atomic_block})

    chunks_replaced.connect(receiver, sender=KnowledgeChunk, dispatch_uid="test.chunks_replaced")
    yield calls
    chunks_replaced.disconnect(sender=KnowledgeChunk, dispatch_uid="test.chunks_replaced")


def test_a_changed_paragraph_sends_its_old_text_and_the_new_chunks(fake_embedder, section, publish, received):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS, intro="")
    assert received == []  # a first index removes nothing
    before = {c.pk: c for c in KnowledgeChunk.objects.filter(page_id=page.pk)}
    old_revision = page.live_revision_id

    # As the editor saves it: the same blocks (and ids), one paragraph's text changed.
    raw = list(page.body.raw_data)
    raw[1] = {**raw[1], "value": "<p>Annual plans are refunded within 14 days.</p>"}
    page.body = raw
    page = publish(section, title="Refunds", slug="refunds", page=page)

    assert len(received) == 1
    call = received[0]
    assert call["in_transaction"]
    assert call["page_id"] == page.pk and call["document_id"] is None
    (gone,) = call["removed"]
    assert isinstance(gone, ChunkSnapshot)
    assert gone.id in before and gone.text == "Annual plans are refunded within 30 days."
    assert gone.page_revision_id == old_revision
    assert not KnowledgeChunk.objects.filter(pk=gone.id).exists()
    now = {c.pk: c for c in KnowledgeChunk.objects.filter(page_id=page.pk)}
    assert [s.id for s in call["current"]] == sorted(now, key=lambda pk: now[pk].position)
    texts = [s.text for s in call["current"]]
    assert "Annual plans are refunded within 14 days." in texts
    # The unchanged chunk kept its row: it is in ``current`` under its old id.
    kept = next(s for s in call["current"] if s.text == "Monthly plans are not refunded.")
    assert kept.id in before
    new = next(s for s in call["current"] if "14 days" in s.text)
    assert new.block_ids == gone.block_ids and new.id not in before


def test_a_republish_that_changes_no_chunk_sends_nothing(fake_embedder, section, publish, received):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS, intro="")
    publish(section, title="Refunds", slug="refunds", items=None, page=page)
    assert received == []
