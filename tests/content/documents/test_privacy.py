"""Documents in a collection with a view restriction are never retrievable by visitors: removed
at once when the restriction is added (or the document moves into it), checked again at query
time, and indexed again when the restriction is lifted. Collections can be mapped to one site."""

from __future__ import annotations

import pytest
from wagtail.models import Collection, CollectionViewRestriction, Site

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from ai_core.rag.selectors import NO_SITE, retrieve
from content.documents.tasks import index_document, unindex_document
from tests.conftest import tasks_in, tasks_routed_to
from tests.rag.doc_factories import pdf_bytes
from tests.rag.fakes import HashEmbedder

pytestmark = pytest.mark.django_db

SECRET = ["Board minutes. The acquisition of Harbour Freight closes on the ninth of March."]
QUERY = "acquisition of Harbour Freight closes"


def hits(query: str = QUERY, *, site=None) -> set[int]:
    return {r.document_id for r in retrieve(query, site=site, locale=None, min_score=0) if r.document_id}


def row(document) -> KnowledgeDocument:
    return KnowledgeDocument.objects.get(source="wagtail", key=str(document.pk))


@pytest.fixture
def board(root_collection):
    return root_collection.add_child(name="Board")


def test_restricting_a_collection_removes_its_documents_at_once(fake_embedder, upload, board):
    document = upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=board)
    assert row(document).pk in hits()
    # No on-commit callbacks run here: removal must not wait for a worker.
    CollectionViewRestriction.objects.create(
        collection=board, restriction_type=CollectionViewRestriction.LOGIN
    )
    assert not KnowledgeChunk.objects.filter(document=row(document)).exists()
    assert row(document).status == "private"
    assert not hits()


def test_a_restriction_on_a_parent_collection_covers_its_children(fake_embedder, upload, board):
    minutes = board.add_child(name="Minutes")
    document = upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=minutes)
    CollectionViewRestriction.objects.create(
        collection=board, restriction_type=CollectionViewRestriction.PASSWORD, password="x"
    )
    assert not KnowledgeChunk.objects.filter(document=row(document)).exists()


def test_a_document_uploaded_into_a_private_collection_is_never_indexed(fake_embedder, upload, board):
    CollectionViewRestriction.objects.create(
        collection=board, restriction_type=CollectionViewRestriction.LOGIN
    )
    upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=board)
    assert not KnowledgeChunk.objects.exists()
    assert not hits()


def test_moving_a_document_into_a_private_collection_removes_it(
    fake_embedder, upload, board, root_collection
):
    CollectionViewRestriction.objects.create(
        collection=board, restriction_type=CollectionViewRestriction.LOGIN
    )
    document = upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=root_collection)
    assert hits()
    document.collection = board
    document.save()  # no on-commit callbacks: the receiver removes at once
    assert not KnowledgeChunk.objects.exists()


def test_lifting_the_restriction_indexes_the_documents_again(
    fake_embedder, upload, board, django_capture_on_commit_callbacks
):
    restriction = CollectionViewRestriction.objects.create(
        collection=board, restriction_type=CollectionViewRestriction.LOGIN
    )
    document = upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=board)
    with django_capture_on_commit_callbacks(execute=True):
        restriction.delete()
    assert row(document).pk in hits()
    assert row(document).status == "indexed"


def test_a_removal_that_finds_the_document_public_again_leaves_it_to_the_indexing_queue(
    fake_embedder, upload, board, unread_queues
):
    """Restricted, then lifted before the removals queue's re-check ran: that worker neither
    extracts nor embeds the file; it hands the document to the indexing queue."""
    base, client = unread_queues
    document = upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=board)
    restriction = CollectionViewRestriction.objects.create(
        collection=board, restriction_type=CollectionViewRestriction.LOGIN
    )
    restriction.delete()  # their on-commit tasks are not run: the re-check below is the late one
    assert row(document).status == "private"
    HashEmbedder.calls = []
    with tasks_routed_to(base):
        unindex_document.apply(args=[document.pk]).get()
    assert HashEmbedder.calls == []
    assert row(document).status == "private" and not hits()
    assert tasks_in(client, f"{base}.indexing") == [("content.index_document", f"({document.pk},)")]
    index_document.apply(args=[document.pk]).get()  # what the indexing worker then runs
    assert row(document).status == "indexed"
    assert hits() == {row(document).pk}


def test_retrieval_rechecks_collection_privacy_at_query_time(fake_embedder, upload, board):
    """A restriction whose removal lost a race (the chunks are still stored) still hides them."""
    document = upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=board)
    restriction = CollectionViewRestriction(
        collection=board, restriction_type=CollectionViewRestriction.LOGIN
    )
    CollectionViewRestriction.objects.bulk_create([restriction])  # no signal: chunks stay
    assert KnowledgeChunk.objects.filter(document=row(document)).exists()
    assert not hits()


def test_the_admin_privacy_dialog_hides_the_collections_documents(
    fake_embedder, upload, board, admin_client, django_capture_on_commit_callbacks
):
    upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=board)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/collections/{board.pk}/privacy/", {"restriction_type": "login"})
    assert response.status_code == 200
    assert CollectionViewRestriction.objects.filter(collection=board).exists()
    assert not hits()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/collections/{board.pk}/privacy/", {"restriction_type": "none"})
    assert hits()


def test_documents_belong_to_every_site_unless_their_collection_is_mapped(
    fake_embedder, upload, board, home, settings
):
    marina = Site.objects.create(hostname="marina.test", port=80, root_page=home, site_name="Marina")
    document = upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=board)
    default = Site.objects.get(is_default_site=True)
    assert hits(site=default) == hits(site=marina) == hits(site=NO_SITE) == {row(document).pk}
    settings.LECTERN_DOCUMENTS = {"COLLECTION_SITES": {"Board": "marina.test"}}
    # The query-time check applies the mapping before any re-index has run...
    assert hits(site=default) == set() and hits(site=NO_SITE) == set()
    assert hits(site=marina) == {row(document).pk}
    # ...and a re-index stores the site on the chunks.
    from content.documents.indexing import document_index_sync

    document_index_sync(document_id=document.pk)
    assert set(KnowledgeChunk.objects.filter(document=row(document)).values_list("site_id", flat=True)) == {
        marina.pk
    }
    assert hits(site=default) == set() and hits(site=marina) == {row(document).pk}


def test_a_collection_mapped_to_a_missing_site_is_shown_nowhere(fake_embedder, upload, board, settings):
    settings.LECTERN_DOCUMENTS = {"COLLECTION_SITES": {"Board": "no-such-host.test"}}
    upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=board)
    assert not hits() and not KnowledgeChunk.objects.exists()


def test_collections_are_still_what_wagtail_serves(fake_embedder, upload, board, client):
    """The guarantee the index copies: Wagtail itself refuses a private collection's file."""
    document = upload(pdf_bytes(SECRET), filename="minutes.pdf", collection=board)
    CollectionViewRestriction.objects.create(
        collection=board, restriction_type=CollectionViewRestriction.LOGIN
    )
    assert client.get(document.url).status_code in (302, 403)
    assert Collection.objects.filter(pk=board.pk).exists()
