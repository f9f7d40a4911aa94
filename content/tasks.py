"""Celery tasks of the content app. Thin adapters: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from ai_core.providers.errors import ProviderError


@shared_task(
    bind=True,
    name="content.index_page",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    soft_time_limit=110,
    time_limit=140,
)
def index_page(self, page_id: int) -> None:
    """Make the knowledge index match page ``page_id`` (publish, unpublish, delete, move, re-index)."""
    from content.indexing import page_index_sync

    try:
        page_index_sync(page_id=int(page_id))
    except (ProviderError, OperationalError) as err:
        # A remote embedder hiccup or a lock timeout is worth another try; a rejected input is not.
        if isinstance(err, ProviderError) and not err.retryable:
            raise
        raise self.retry(countdown=min(60, 2 ** (self.request.retries + 1))) from err


@shared_task(
    bind=True,
    name="content.summarize_page",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    soft_time_limit=30,
    time_limit=45,
)
def summarize_page(self, page_id: int) -> None:
    """Request a summary of the page's live revision (the generation itself is an AI request task)."""
    from content.summaries import page_summary_request

    try:
        page_summary_request(page_id=int(page_id))
    except OperationalError as err:
        # The database dropped out (restart, failover): nothing else would ever ask for this
        # revision's summary again, so try later instead of losing it.
        raise self.retry(countdown=min(60, 2 ** (self.request.retries + 1))) from err


@shared_task(name="content.summarize_page_force", ignore_result=True, soft_time_limit=30, time_limit=45)
def summarize_page_force(page_id: int) -> None:
    """An editor asked for a new summary even though one exists for this revision."""
    from content.summaries import page_summary_request

    page_summary_request(page_id=int(page_id), force=True)
