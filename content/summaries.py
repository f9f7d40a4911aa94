"""Page summaries: generated in the worker after a page is indexed, one per live revision.

Summaries are system work, charged to the system budget pool. Two things can leave a live
revision without a good summary: the pool was empty when it was requested (the request is refused
and nothing is stored), or its chunks changed without a new revision (``reindex``, e.g. after a
change of embedder), which marks it stale. ``page_summaries_catch_up`` (a beat task) finds both
and requests them again, a bounded batch per run, stopping at the first refusal: the pool refills
at midnight UTC, and the next run goes on from there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from wagtail.models import Page

from ai_core import conf
from ai_core.models import AIRequest
from ai_core.rag.api import output_is_stale, provenance_link_regenerated
from ai_core.rag.models import OutputProvenance, PageIndexState
from ai_core.services import POOL_SYSTEM, BudgetExceeded, ai_request_submit_system, budget_pool_has_room

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


def _needs_new_summary(existing: PageSummary | None, *, regenerate_stale: bool) -> bool:
    if existing is None or existing.ai_request.status == AIRequest.Status.FAILED:
        return True
    return (
        regenerate_stale
        and existing.ai_request.status == AIRequest.Status.DONE
        and output_is_stale(request_id=existing.ai_request_id)
    )


@transaction.atomic
def page_summary_request(
    *, page_id: int, force: bool = False, regenerate_stale: bool = False
) -> PageSummary | None:
    """Queue a summary for the page's live revision unless one exists (or ``force``; or
    ``regenerate_stale`` and the existing one is stale). Raises ``BudgetExceeded`` when the system
    pool cannot take it; nothing is stored then, and the catch-up task asks again later."""
    page = Page.objects.filter(pk=page_id, live=True).first()
    if page is None or not page.live_revision_id:
        return None
    # The publish hook and the catch-up task may ask for the same page at once: one at a time
    # (released at commit), so the second sees the first's summary instead of adding another.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"page_summary:{page_id}"])
    existing = page_summary_current(page)
    if not force and not _needs_new_summary(existing, regenerate_stale=regenerate_stale):
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


def pages_needing_summary(*, limit: int) -> list[int]:
    """Live pages indexed at their live revision (with chunks) whose summary of that revision is
    missing (refused for budget, or lost) or done but stale; the longest waiting first."""
    latest = PageSummary.objects.filter(page_id=OuterRef("pk"), revision_id=OuterRef("live_revision_id"))
    latest = latest.order_by("-created_at")
    latest_request = Subquery(latest.values("ai_request_id")[:1])
    latest_status = Subquery(latest.values("ai_request__status")[:1])
    stale = OutputProvenance.objects.filter(request_id=OuterRef("summary_request"), stale_at__isnull=False)
    index = PageIndexState.objects.filter(
        page_id=OuterRef("pk"), page_revision_id=OuterRef("live_revision_id"), chunk_count__gt=0
    )
    pages = (
        Page.objects.filter(live=True, live_revision__isnull=False)
        .annotate(
            indexed=Exists(index),
            indexed_at=Subquery(index.values("indexed_at")[:1]),
            summary_request=latest_request,
            summary_status=latest_status,
        )
        .annotate(summary_stale=Exists(stale))
        .filter(indexed=True)
        .filter(Q(summary_request__isnull=True) | Q(summary_status=AIRequest.Status.DONE, summary_stale=True))
        .order_by("indexed_at", "pk")
    )
    return list(pages.values_list("pk", flat=True)[:limit])


@dataclass(kw_only=True)
class CatchUpOutcome:
    requested: int = 0
    refused_for_budget: bool = False
    waiting: int = 0  # candidates found in this run's batch


def page_summaries_catch_up(*, limit: int | None = None) -> CatchUpOutcome:
    """Request the summaries that ``pages_needing_summary`` finds, at most ``limit`` per run
    (``AI_CORE["SUMMARY_CATCH_UP"]["BATCH"]``), as system work; the first budget refusal ends the
    run, since every later page would be refused too."""
    limit = conf.setting("SUMMARY_CATCH_UP")["BATCH"] if limit is None else limit
    outcome = CatchUpOutcome()
    if limit <= 0 or not budget_pool_has_room(pool=POOL_SYSTEM):
        outcome.refused_for_budget = limit > 0
        return outcome
    page_ids = pages_needing_summary(limit=limit)
    outcome.waiting = len(page_ids)
    for page_id in page_ids:
        try:
            summary = page_summary_request(page_id=page_id, regenerate_stale=True)
        except BudgetExceeded as err:
            logger.info("summary catch-up stopped at page=%s: %s", page_id, err.message)
            outcome.refused_for_budget = True
            break
        if summary is not None and summary.ai_request.status == AIRequest.Status.PENDING:
            outcome.requested += 1
    if outcome.requested or outcome.refused_for_budget:
        logger.info(
            "summary catch-up: %s requested of %s waiting%s",
            outcome.requested,
            outcome.waiting,
            " (system budget exhausted)" if outcome.refused_for_budget else "",
        )
    return outcome
