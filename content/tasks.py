"""Celery tasks of the content app. Thin adapters: they take ids and call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import OperationalError

from ai_core.providers import ProviderError

logger = logging.getLogger(__name__)


def _backoff(retries: int) -> int:
    """2, 4, 8 ... seconds, at most a minute. ``acks_late`` and ``reject_on_worker_lost`` come from
    the global Celery settings, not from each task."""
    return get_exponential_backoff_interval(factor=2, retries=retries, maximum=60)


@shared_task(
    bind=True,
    name="content.index_page",
    ignore_result=True,
    max_retries=5,
    soft_time_limit=110,
    time_limit=140,
)
def index_page(self, page_id: int) -> None:
    """Make the knowledge index match page ``page_id`` (publish, move, re-index)."""
    _page_index_sync_or_retry(self, page_id)


def _page_index_sync_or_retry(task, page_id: int, *, removal_only: bool = False):
    from content.indexing import page_index_sync

    try:
        return page_index_sync(page_id=int(page_id), removal_only=removal_only)
    except (ProviderError, OperationalError) as err:
        # A remote embedder hiccup or a lock timeout is worth another try; a rejected input is not.
        if isinstance(err, ProviderError) and not err.retryable:
            raise
        raise task.retry(countdown=_backoff(task.request.retries)) from err


@shared_task(
    bind=True,
    name="content.unindex_page",
    ignore_result=True,
    max_retries=5,
    soft_time_limit=110,
    time_limit=140,
)
def unindex_page(self, page_id: int) -> None:
    """The after-commit re-check of a page taken away from visitors (private, unpublished,
    deleted, moved out of reach), on a task of its own so it is routed to the removals queue,
    which no re-index backlog fills. It only removes: a page that visitors may read again by the
    time it runs (republished, made public) is handed to ``index_page`` on the indexing queue, so
    the removals workers never load the embedder or wait on it."""
    if _page_index_sync_or_retry(self, page_id, removal_only=True) is None:
        logger.info("page %s is live again; its index run is queued for the indexing workers", page_id)
        index_page.delay(int(page_id))


@shared_task(
    bind=True,
    name="content.index_pages",
    ignore_result=True,
    # Under the broker's visibility timeout (600 s), or Redis would hand the batch to a second
    # worker while the first still runs it.
    soft_time_limit=480,
    time_limit=540,
)
def index_pages(
    self, page_ids: list[int], run_id: str, batch: int, started_at: str, embedder_id: str, force: bool = False
) -> None:
    """One batch of a fanned-out ``reindex``; its report goes to the cache for the command.

    A redelivered batch (its worker died) skips the pages finished since the run started.
    """
    from datetime import datetime

    from content.reindexing import batch_report_store, pages_index_batch

    report = pages_index_batch(
        page_ids=[int(p) for p in page_ids],
        skip_indexed_since=datetime.fromisoformat(started_at),
        embedder_id=embedder_id,
        force=force,
    )
    batch_report_store(run_id=run_id, batch=batch, report=report)


@shared_task(
    bind=True,
    name="content.summarize_page",
    ignore_result=True,
    max_retries=5,
    soft_time_limit=30,
    time_limit=45,
)
def summarize_page(self, page_id: int) -> None:
    """Request a summary of the page's live revision (the generation itself is an AI request task)."""
    from ai_core.services import BudgetExceeded
    from content.summaries import page_summary_request

    try:
        page_summary_request(page_id=int(page_id))
    except BudgetExceeded as err:
        # Not an error of this task: the system pool is empty for today. The catch-up beat task
        # (summaries_catch_up) finds the page without a summary and asks again when it refills.
        logger.warning("summary of page=%s refused for budget; the catch-up will retry: %s", page_id, err)
    except OperationalError as err:
        # The database dropped out (restart, failover): nothing else would ever ask for this
        # revision's summary again, so try later instead of losing it.
        raise self.retry(countdown=_backoff(self.request.retries)) from err


@shared_task(name="content.summarize_page_force", ignore_result=True, soft_time_limit=30, time_limit=45)
def summarize_page_force(page_id: int) -> None:
    """An editor asked for a new summary even though one exists for this revision."""
    from ai_core.services import BudgetExceeded
    from content.summaries import page_summary_request

    try:
        page_summary_request(page_id=int(page_id), force=True)
    except BudgetExceeded as err:
        # The page keeps the summary it has; the editor can ask again once the system pool refills.
        logger.warning("regenerating the summary of page=%s refused for budget: %s", page_id, err)


@shared_task(name="content.summaries_catch_up", ignore_result=True, soft_time_limit=120, time_limit=150)
def summaries_catch_up() -> int:
    """Beat task: summaries refused for budget, or stale after a re-index, asked for again (a
    bounded batch per run, as system work). Returns how many were requested."""
    from content.summaries import page_summaries_catch_up

    return page_summaries_catch_up().requested
