"""Context builders: numbered sources with chunk ids and block anchors, page scope, summaries."""

from __future__ import annotations

import pytest
from wagtail.models import Site

from ai_core.context import build_context
from ai_core.models import AIRequest
from ai_core.prompts.registry import get_prompt
from ai_core.rag.context import page_summary_context, rag_answer_context
from ai_core.rag.models import KnowledgeChunk

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(fake_embedder, section, publish):
    refunds = publish(
        section, title="Refunds", slug="refunds", intro="",
        items=[("h2", "Annual plans"), ("p", "Annual plans are refunded within 30 days."),
               ("h2", "Monthly plans"), ("p", "Monthly plans are not refunded.")],
    )  # fmt: skip
    invoices = publish(
        section,
        title="Invoices",
        slug="invoices",
        intro="",
        items=[("p", "Annual invoices are emailed in May.")],
    )
    return refunds, invoices


def request_for(prompt_key: str, payload: dict, page_id=None, **where) -> AIRequest:
    """A request asked on the default site in English, as the ask views record it."""
    where = {"site_id": Site.objects.get(is_default_site=True).pk, "locale": "en", **where}
    return AIRequest.objects.create(
        prompt_key=prompt_key, prompt_version=1, payload=payload, page_id=page_id, **where
    )


def test_rag_answer_sources_are_numbered_with_chunk_ids_and_anchors(pages):
    context = rag_answer_context(
        request=request_for("rag_answer", {"question": "annual plans refunded"}), spec=None
    )
    assert [s.number for s in context.sources] == list(range(1, len(context.sources) + 1))
    first = context.sources[0]
    chunk = KnowledgeChunk.objects.get(pk=int(first.chunk_id))
    assert first.url == f"/guides/refunds/#block-{chunk.block_ids[0]}"
    assert first.title == "Refunds > Annual plans"
    assert first.text == "Annual plans are refunded within 30 days."


def test_on_a_page_only_that_pages_chunks_are_sources(pages):
    refunds, invoices = pages
    request = request_for("rag_answer", {"question": "annual invoices"}, page_id=invoices.pk)
    context = rag_answer_context(request=request, spec=None)
    assert context.sources
    assert {KnowledgeChunk.objects.get(pk=int(s.chunk_id)).page_id for s in context.sources} == {invoices.pk}


def test_no_relevant_chunk_means_no_sources_not_padding(pages):
    context = rag_answer_context(
        request=request_for("rag_answer", {"question": "sourdough hydration"}), spec=None
    )
    assert context.sources == []


def test_page_summary_uses_the_pages_chunks_in_reading_order(pages):
    refunds, _ = pages
    context = page_summary_context(request=request_for("page_summary", {}, page_id=refunds.pk), spec=None)
    assert context.values == {"page_title": "Refunds"}
    assert [s.title for s in context.sources] == ["Refunds > Annual plans", "Refunds > Monthly plans"]
    assert [s.number for s in context.sources] == [1, 2]


def test_builders_are_registered_for_their_prompts(pages):
    request = request_for("rag_answer", {"question": "annual plans refunded"})
    context = build_context(request=request, spec=get_prompt("rag_answer"))
    assert (
        context.sources and '<source id="1" title="Refunds &gt; Annual plans">' in context.values["sources"]
    )
