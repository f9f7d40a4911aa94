"""Fixtures for the approved-answer tests: the RAG tests' page tree, publish helper and fake
embedder (an instant bag-of-words embedder swapped in through settings), and a reviewer."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from ai_core.models import AIRequest
from ai_core.prompts.registry import get_prompt
from ai_core.rag.models import KnowledgeChunk
from tests.rag import conftest as rag_fixtures

# The RAG tests' fixtures, shared: page tree, publish helper, fake embedder.
fake_embedder, home, section, publish = (
    rag_fixtures.fake_embedder,
    rag_fixtures.home,
    rag_fixtures.section,
    rag_fixtures.publish,
)

REFUND = "Refunds are paid back to the original card within 30 days of the return arriving."
SALE = "Items bought in the seasonal sale can be exchanged but are not refunded."
QUESTION = "How long do refunds take?"
APPROVED = "Refunds are paid to your card within 30 days [1]."


@pytest.fixture
def refund_page(section, publish, fake_embedder):
    return publish(
        section,
        title="Refunds",
        slug="refunds",
        items=[("h2", "Refunds"), ("p", REFUND), ("h2", "Sale items"), ("p", SALE)],
    )


@pytest.fixture
def edit_paragraph(django_capture_on_commit_callbacks):
    """An editor changes one paragraph in place (its block keeps its id, as in the page editor)
    and publishes; the index task runs inline, on commit."""
    from wagtail.rich_text import RichText

    def _edit(page, *, old: str, new: str):
        page = type(page).objects.get(pk=page.pk)
        for index, block in enumerate(page.body):
            if block.block_type == "paragraph" and old in block.value.source:
                page.body[index] = ("paragraph", RichText(f"<p>{new}</p>"), block.id)
                break
        else:
            raise AssertionError(f"no paragraph contains {old!r}")
        with django_capture_on_commit_callbacks(execute=True):
            page.save_revision().publish()
        return page

    return _edit


def chunk_of(page, needle: str) -> KnowledgeChunk:
    return next(c for c in KnowledgeChunk.objects.filter(page_id=page.pk) if needle in c.text)


@pytest.fixture
def answered(refund_page, home):
    """A visitor's answered rag_answer request citing the refund paragraph, as the worker leaves it."""

    def _make(
        *, question: str = QUESTION, text: str = APPROVED, page=None, site_id=None, locale="en", **fields
    ):
        chunk = chunk_of(refund_page, "30 days")
        from wagtail.models import Site

        row = {
            "prompt_key": "rag_answer",
            "prompt_version": get_prompt("rag_answer").version,
            "payload": {"question": question},
            "status": AIRequest.Status.DONE,
            "result": text,
            "citations": [
                {"number": 1, "chunk_id": str(chunk.pk), "title": "Refunds", "url": chunk.anchor_url}
            ],
            "cited_chunk_ids": [str(chunk.pk)],
            "site_id": site_id if site_id is not None else Site.objects.get(is_default_site=True).pk,
            "locale": locale,
            "page_id": page.pk if page is not None else None,
            "provider": "anthropic",
            "model_used": "claude-sonnet-4-6",
        }
        return AIRequest.objects.create(**{**row, **fields})

    return _make


@pytest.fixture
def reviewer(db):
    return get_user_model().objects.create_user("lena", "lena@example.com", "pw-lena-12345")


def ask(question: str, *, like: AIRequest, **fields) -> AIRequest:
    """A later visitor question in the same scope as ``like`` (not processed yet)."""
    scope = {"site_id": like.site_id, "locale": like.locale, "page_id": like.page_id, **fields}
    return AIRequest.objects.create(
        prompt_key="rag_answer",
        prompt_version=get_prompt("rag_answer").version,
        payload={"question": question},
        **scope,
    )
