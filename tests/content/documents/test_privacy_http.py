"""Over HTTP, as an anonymous visitor: a document in a private collection is never retrieved,
neither after the restriction's receivers removed it nor when its chunks are still stored (the
query-time check in the worker), and it is found again once the restriction is lifted.

The running stack (uvicorn and a Celery worker with the local MiniLM embedder, generating through
the fake Anthropic server, whose request log shows exactly what the model was given). Documents
are indexed in this process with the same embedder, on upload.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from wagtail.documents import get_document_model
from wagtail.models import Collection, CollectionViewRestriction, Site

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from tests.conftest import live_stack
from tests.content.factories import HomePageFactory
from tests.rag.conftest import ensure_wagtail_initial_data
from tests.rag.doc_factories import pdf_bytes
from tests.rag.test_scope_http import Visitor, model_saw

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = [
    "Board minutes, March. Attendance and apologies were recorded by the company secretary.",
    "The acquisition of Harbour Freight Limited closes on the ninth of March for four million euros.",
]
SECRET = "four million euros"
ASK = "When does the acquisition of Harbour Freight Limited close, and for how much?"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    with live_stack(
        "docs-privacy",
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_FALLBACK_TO_LOCAL="false",
        AI_ANON_RATE_LIMIT_REQUESTS="1000",
        AI_REVIEW_WEAK_GROUNDING="false",  # the fake model echoes its prompt
    ) as web:
        yield web


@pytest.fixture
def board(transactional_db):
    root = ensure_wagtail_initial_data()
    home = HomePageFactory(parent=root, slug="home-docs")
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    top = Collection.get_first_root_node() or Collection.add_root(name="Root")
    return top.add_child(name="Board")


@pytest.fixture
def visitor(stack):
    opened = Visitor(stack, "localhost")
    yield opened
    opened.close()


def upload(collection):
    """Committed at once (transactional test): the index task runs inline on commit, eagerly."""
    return get_document_model().objects.create(
        title="Board minutes", file=ContentFile(pdf_bytes(PAGES), name="minutes.pdf"), collection=collection
    )


def cited_documents(request) -> set[int]:
    ids = [int(c["chunk_id"]) for c in request.citations]
    return set(KnowledgeChunk.objects.filter(pk__in=ids).values_list("document_id", flat=True)) - {None}


def test_a_private_collections_document_is_never_retrieved_by_a_visitor(stack, board, visitor, fake_provider):
    document = upload(board)
    stored = KnowledgeDocument.objects.get(source="wagtail", key=str(document.pk))
    answer = visitor.ask(ASK)
    assert cited_documents(answer) == {stored.pk}
    assert any(c["url"] == f"/documents/{document.pk}/minutes.pdf#page=2" for c in answer.citations)

    # Made private in the admin's way (the receivers run): gone from the index at once.
    restriction = CollectionViewRestriction.objects.create(collection=board, restriction_type="login")
    assert not KnowledgeChunk.objects.filter(document=stored).exists()
    fake_provider.reset()
    after = visitor.ask(ASK + " Tell me.")
    assert after.citations == []
    assert SECRET not in model_saw(fake_provider, ASK + " Tell me.")

    # Lifted: indexed again (on commit, here inline), and found again.
    restriction.delete()
    again = visitor.ask(ASK + " Again.")
    assert cited_documents(again) == {stored.pk}


def test_a_restriction_whose_removal_lost_the_race_still_hides_the_document(
    stack, board, visitor, fake_provider
):
    document = upload(board)
    stored = KnowledgeDocument.objects.get(source="wagtail", key=str(document.pk))
    assert cited_documents(visitor.ask(ASK)) == {stored.pk}
    # No post_save (bulk_create): the chunks stay; only the worker's query-time check stands between.
    CollectionViewRestriction.objects.bulk_create(
        [CollectionViewRestriction(collection=board, restriction_type="password", password="x")]
    )
    assert KnowledgeChunk.objects.filter(document=stored).exists()
    fake_provider.reset()
    after = visitor.ask(ASK + " Please.")
    assert after.citations == []
    assert SECRET not in model_saw(fake_provider, ASK + " Please.")
    assert KnowledgeChunk.objects.filter(document=stored).exists()  # still there: it was the check


def test_a_question_on_a_public_page_never_reaches_a_private_document_it_links(
    stack, board, visitor, fake_provider
):
    """The page's scope includes the documents it links, but not past their collection's privacy."""
    from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory

    document = upload(board)
    home = Site.objects.get(is_default_site=True).root_page
    section = ArticleIndexPageFactory(parent=home, title="Company", slug="company")
    page = ArticlePageFactory(
        parent=section,
        title="Board",
        slug="board",
        body=[("document", {"document": document, "caption": "The minutes"})],
    )
    page.save_revision().publish()  # indexed inline on commit, with its linked document
    stored = KnowledgeDocument.objects.get(source="wagtail", key=str(document.pk))
    assert cited_documents(visitor.ask(ASK, page_id=page.pk)) == {stored.pk}
    CollectionViewRestriction.objects.bulk_create(
        [CollectionViewRestriction(collection=board, restriction_type="login")]
    )
    fake_provider.reset()
    after = visitor.ask(ASK + " On this page?", page_id=page.pk)
    assert stored.pk not in cited_documents(after)
    assert SECRET not in model_saw(fake_provider, ASK + " On this page?")
