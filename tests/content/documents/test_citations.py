"""Citations of a library document link to the document at the page the passage is on, with its
title and page, and the reviewer's inspect screen shows that page's text."""

from __future__ import annotations

import pytest

from ai_core.models import AIRequest
from ai_core.rag.context import rag_answer_context
from ai_core.rag.models import KnowledgeDocument
from tests.rag.doc_factories import pdf_bytes
from tests.review.conftest import admin_url, legal_reviewers, make_held, reviewer, visitor  # noqa: F401

pytestmark = pytest.mark.django_db

PAGES = [
    "Introduction. These terms govern the Northwind Ledger subscription service.",
    "Payment. Invoices are issued on the first business day of every month.",
    "Termination. Either party may end the agreement with ninety days written notice.\n\n"
    "Refunds. Unused months of an annual plan are refunded pro rata after termination.",
    "Governing law. These terms are governed by the laws of Ireland.",
]
QUESTION = "How much notice is needed to end the agreement?"


@pytest.fixture
def terms(fake_embedder, upload, home):
    return upload(pdf_bytes(PAGES), filename="terms.pdf", title="Subscription terms")


def ask(question: str, **fields) -> AIRequest:
    request = AIRequest.objects.create(
        prompt_key="rag_answer", prompt_version=1, payload={"question": question}, locale="en", **fields
    )
    return request, rag_answer_context(request=request, spec=None)


def test_a_cited_passage_links_to_its_page_of_the_document(terms):
    _, context = ask("Either party may end the agreement with ninety days written notice")
    source = next(s for s in context.sources if "ninety days" in s.text)
    assert source.url == f"/documents/{terms.pk}/terms.pdf#page=3"
    assert source.title == "Subscription terms, page 3"


def test_every_page_cites_its_own_number(terms):
    _, context = ask("laws of Ireland governing law")
    source = next(s for s in context.sources if "Ireland" in s.text)
    assert source.url.endswith("#page=4") and source.title.endswith("page 4")


def test_the_document_url_is_wagtails_serve_url_which_serves_the_pdf(terms, client):
    stored = KnowledgeDocument.objects.get(source="wagtail", key=str(terms.pk))
    assert stored.url == terms.url
    response = client.get(stored.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_the_inspect_screen_shows_the_page_and_its_text(terms, client, reviewer, make_held):  # noqa: F811
    request, context = ask("Either party may end the agreement with ninety days written notice")
    source = next(s for s in context.sources if "ninety days" in s.text)
    item = make_held(
        "Ninety days notice is needed [1].",
        citations=[{"number": 1, "chunk_id": source.chunk_id, "title": source.title, "url": source.url}],
    )
    client.force_login(reviewer)
    html = client.get(admin_url("inspect", item)).content.decode()
    assert "Page 3 of the document" in html
    assert f'href="/documents/{terms.pk}/terms.pdf#page=3"' in html
    assert "Open the document at page 3" in html
    assert "ninety days written notice" in html
