"""Pages and their documents: an article's document block links a library file; a question asked
on the page searches the page and the documents it links (and no others), and the page summary may
cite them, never a private one."""

from __future__ import annotations

import pytest
from wagtail.models import CollectionViewRestriction
from wagtail.rich_text import RichText

from ai_core.models import AIRequest
from ai_core.rag.context import page_summary_context, rag_answer_context
from ai_core.rag.models import KnowledgeDocument, PageIndexState
from ai_core.rag.selectors import retrieve
from tests.content.factories import ArticlePageFactory
from tests.rag.doc_factories import pdf_bytes

pytestmark = pytest.mark.django_db

TERMS = [
    "Introduction. These terms govern the Northwind Ledger subscription.",
    "Termination. Either party may end the agreement with ninety days written notice.",
]
OTHER = ["Termination of the office lease needs six months notice to the landlord."]
QUESTION = "How much notice is needed to end the agreement?"


def kd(document) -> KnowledgeDocument:
    return KnowledgeDocument.objects.get(source="wagtail", key=str(document.pk))


@pytest.fixture
def documents(fake_embedder, upload):
    return upload(pdf_bytes(TERMS), filename="terms.pdf", title="Terms"), upload(
        pdf_bytes(OTHER), filename="lease.pdf", title="Lease"
    )


def article(section, publish, *, blocks):
    from django.db import transaction

    with transaction.atomic():
        page = ArticlePageFactory(parent=section, title="Subscriptions", slug="subscriptions", body=blocks)
    return publish(section, title="Subscriptions", slug="subscriptions", page=page)


def in_page(page, query: str = QUESTION) -> set[int]:
    return {r.document_id for r in retrieve(query, site=None, locale=None, within_page=page, min_score=0)}


def test_a_document_block_links_the_document_into_the_pages_scope(documents, section, publish):
    terms, lease = documents
    page = article(
        section,
        publish,
        blocks=[
            ("paragraph", RichText("<p>How subscriptions work.</p>")),
            ("document", {"document": terms, "caption": "The signed terms"}),
        ],
    )
    assert PageIndexState.objects.get(page_id=page.pk).linked_documents == [f"wagtail:{terms.pk}"]
    assert in_page(page) == {None, kd(terms).pk}  # the page's own chunks and the linked document's
    assert kd(lease).pk not in in_page(page, "office lease landlord six months")


def test_a_rich_text_document_link_counts_too(documents, section, publish):
    terms, _ = documents
    link = f'<p>Read <a linktype="document" id="{terms.pk}">our terms</a>.</p>'
    page = article(section, publish, blocks=[("paragraph", RichText(link))])
    assert PageIndexState.objects.get(page_id=page.pk).linked_documents == [f"wagtail:{terms.pk}"]
    assert kd(terms).pk in in_page(page)


def test_an_answer_on_the_page_cites_the_linked_documents_page(documents, section, publish):
    terms, _ = documents
    page = article(section, publish, blocks=[("document", {"document": terms, "caption": ""})])
    request = AIRequest.objects.create(
        prompt_key="rag_answer",
        prompt_version=1,
        payload={"question": QUESTION},
        page_id=page.pk,
        locale="en",
    )
    context = rag_answer_context(request=request, spec=None)
    assert any(s.url == f"/documents/{terms.pk}/terms.pdf#page=2" for s in context.sources)


def test_a_private_linked_document_stays_out_of_the_page_scope(documents, section, publish):
    terms, _ = documents
    page = article(section, publish, blocks=[("document", {"document": terms, "caption": ""})])
    assert kd(terms).pk in in_page(page)
    # The race: the restriction lands without its receivers (the chunks stay stored); only the
    # query-time check stands between the page's visitors and the private document.
    CollectionViewRestriction.objects.bulk_create(
        [CollectionViewRestriction(collection=terms.collection, restriction_type="login")]
    )
    assert kd(terms).chunk_count > 0
    assert kd(terms).pk not in in_page(page)


def test_the_page_summary_may_cite_the_linked_documents(documents, section, publish):
    terms, _ = documents
    page = article(
        section,
        publish,
        blocks=[
            ("paragraph", RichText("<p>Subscriptions renew every year.</p>")),
            ("document", {"document": terms, "caption": ""}),
        ],
    )
    request = AIRequest.objects.create(
        prompt_key="page_summary", prompt_version=1, payload={}, page_id=page.pk
    )
    context = page_summary_context(request=request, spec=None)
    urls = [s.url for s in context.sources]
    assert urls[0].startswith(page.url)  # the page's own text first
    assert f"/documents/{terms.pk}/terms.pdf#page=2" in urls


def test_the_summary_leaves_out_a_private_linked_document(documents, section, publish):
    terms, _ = documents
    page = article(section, publish, blocks=[("document", {"document": terms, "caption": ""})])
    CollectionViewRestriction.objects.bulk_create(
        [CollectionViewRestriction(collection=terms.collection, restriction_type="login")]
    )
    request = AIRequest.objects.create(
        prompt_key="page_summary", prompt_version=1, payload={}, page_id=page.pk
    )
    sources = page_summary_context(request=request, spec=None).sources
    assert not any("/documents/" in s.url for s in sources)


def test_the_article_renders_the_document_link_with_its_caption(documents, section, publish, client):
    terms, _ = documents
    page = article(
        section, publish, blocks=[("document", {"document": terms, "caption": "The signed terms"})]
    )
    html = client.get(page.url).content.decode()
    assert f'href="/documents/{terms.pk}/terms.pdf"' in html and "The signed terms" in html
