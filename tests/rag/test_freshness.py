"""Freshness: outputs remember the chunks and revisions they cited, and go stale when those change."""

from __future__ import annotations

import pytest
from wagtail.models import Site

from ai_core.models import AIRequest
from ai_core.rag.context import page_summary_context, rag_answer_context
from ai_core.rag.models import OutputProvenance
from ai_core.rag.services.freshness import provenance_is_fresh
from ai_core.rag.signals import outputs_marked_stale

pytestmark = pytest.mark.django_db

ITEMS = [
    ("h2", "Annual plans"),
    ("p", "Annual plans are refunded within 30 days."),
    ("h2", "Monthly plans"),
    ("p", "Monthly plans are not refunded."),
]


@pytest.fixture
def page(fake_embedder, section, publish):
    return publish(section, title="Refunds", slug="refunds", items=ITEMS, intro="")


def answer(question: str, *, page_id=None) -> AIRequest:
    request = AIRequest.objects.create(
        prompt_key="rag_answer",
        prompt_version=1,
        payload={"question": question},
        page_id=page_id,
        site_id=Site.objects.get(is_default_site=True).pk,  # asked on the default site, as the views record
        locale="en",
        status=AIRequest.Status.DONE,
    )
    rag_answer_context(request=request, spec=None)
    return request


def edit_paragraph(page, index: int, html: str) -> None:
    raw = list(page.body.raw_data)
    raw[index] = {**raw[index], "value": html}
    page.body = raw


def test_an_output_records_the_chunks_and_page_revisions_it_cited(page):
    request = answer("annual plans refunded")
    provenance = OutputProvenance.objects.get(request=request)
    assert provenance.chunk_ids and provenance.page_ids == [page.pk]
    assert provenance.page_revision_ids == [page.live_revision_id]
    assert provenance.stale_at is None


def test_changing_a_cited_chunk_marks_the_output_stale(page, publish):
    request = answer("annual plans refunded 30 days", page_id=page.pk)
    received = []
    outputs_marked_stale.connect(
        lambda **kw: received.append(kw["request_ids"]), weak=False, dispatch_uid="t1"
    )
    try:
        edit_paragraph(page, 1, "<p>Annual plans are refunded within 14 days.</p>")
        publish(page.get_parent(), title="Refunds", slug="refunds", page=page)
    finally:
        outputs_marked_stale.disconnect(dispatch_uid="t1")
    provenance = OutputProvenance.objects.get(request=request)
    assert provenance.is_stale and f"page {page.pk}" in provenance.stale_reason
    assert len(received) == 1 and request.pk in received[0]  # (the page's own summary went stale too)
    assert not provenance_is_fresh(chunk_ids=provenance.chunk_ids)


def test_an_output_citing_only_unchanged_sections_stays_fresh(page, publish):
    request = AIRequest.objects.create(
        prompt_key="page_summary", prompt_version=1, payload={}, page_id=page.pk
    )
    monthly = page_summary_context(request=request, spec=None).sources[-1]  # the "Monthly plans" chunk
    OutputProvenance.objects.filter(request=request).update(chunk_ids=[int(monthly.chunk_id)])
    edit_paragraph(page, 1, "<p>Annual plans are refunded within 14 days.</p>")
    publish(page.get_parent(), title="Refunds", slug="refunds", page=page)
    assert OutputProvenance.objects.get(request=request).stale_at is None


def test_unpublishing_marks_every_output_citing_the_page_stale(page, django_capture_on_commit_callbacks):
    request = answer("annual plans refunded")
    with django_capture_on_commit_callbacks(execute=True):
        page.unpublish()
    assert OutputProvenance.objects.get(request=request).is_stale


def test_a_stale_page_summary_is_regenerated_automatically(page, publish):
    from content.models import PageSummary

    summary = AIRequest.objects.create(
        prompt_key="page_summary",
        prompt_version=1,
        payload={},
        page_id=page.pk,
        session_key="system",
        status=AIRequest.Status.DONE,
        result="- Annual plans are refunded within 30 days [1]",
    )
    PageSummary.objects.create(page_id=page.pk, revision_id=page.live_revision_id, ai_request=summary)
    page_summary_context(request=summary, spec=None)
    edit_paragraph(page, 1, "<p>Annual plans are refunded within 14 days.</p>")
    publish(page.get_parent(), title="Refunds", slug="refunds", page=page)
    old = OutputProvenance.objects.get(request=summary)
    assert old.is_stale and old.regenerated_by_id is not None
    new = AIRequest.objects.get(pk=old.regenerated_by_id)
    assert (new.prompt_key, new.page_id, new.user) == ("page_summary", page.pk, None)
    assert PageSummary.objects.get(ai_request=new).revision_id == page.get_latest_revision().pk
    assert new.status == AIRequest.Status.DONE, new.error  # processed inline (eager Celery)
    fresh = OutputProvenance.objects.get(request=new)
    assert fresh.stale_at is None and provenance_is_fresh(chunk_ids=fresh.chunk_ids)
    assert {c["chunk_id"] for c in new.citations} == {str(c) for c in fresh.chunk_ids}
