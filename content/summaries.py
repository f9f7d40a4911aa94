"""Page summaries: generated in the worker after a page is indexed, one per live revision."""

from __future__ import annotations

import logging

from django.db import transaction
from wagtail.models import Page

from ai_core.models import AIRequest
from ai_core.rag.services.freshness import output_is_stale, provenance_link_regenerated
from ai_core.services.requests import ai_request_submit_system

from .models import PageSummary

logger = logging.getLogger(__name__)


def page_summary_current(page: Page) -> PageSummary | None:
    """The summary of the page's live revision, whatever its state (None if never requested)."""
    if not page.live_revision_id:
        return None
    return (
        PageSummary.objects.filter(page_id=page.pk, revision_id=page.live_revision_id)
        .select_related("ai_request")
        .first()
    )


def page_summary_visible(page: Page) -> PageSummary | None:
    """What visitors may see: the live revision's summary, finished and not stale. Anything else
    (pending, failed, awaiting review, stale and being regenerated) shows nothing."""
    summary = page_summary_current(page)
    if summary is None or summary.ai_request.status != AIRequest.Status.DONE:
        return None
    if output_is_stale(request_id=summary.ai_request_id):
        return None
    return summary


@transaction.atomic
def page_summary_request(*, page_id: int, force: bool = False) -> PageSummary | None:
    """Queue a summary for the page's live revision unless one exists (or ``force``)."""
    page = Page.objects.filter(pk=page_id, live=True).first()
    if page is None or not page.live_revision_id:
        return None
    existing = page_summary_current(page)
    if existing is not None and not force and existing.ai_request.status != AIRequest.Status.FAILED:
        return existing
    ai_request = ai_request_submit_system(prompt_key="page_summary", payload={}, page_id=page.pk)
    summary = PageSummary.objects.create(page=page, revision_id=page.live_revision_id, ai_request=ai_request)
    earlier = (
        PageSummary.objects.filter(page_id=page.pk)
        .exclude(pk=summary.pk)
        .values_list("ai_request_id", flat=True)
    )
    provenance_link_regenerated(old_request_ids=list(earlier), new_request=ai_request)
    logger.info(
        "summary requested page=%s revision=%s request=%s", page.pk, page.live_revision_id, ai_request.pk
    )
    return summary
