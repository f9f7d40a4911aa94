"""Celery tasks of the document library's indexing. Thin adapters: they take ids and call one service.

Registered when ``content.documents.services`` is imported (``ContentConfig.ready`` does, through
the signal handlers), so every worker knows them; routed by ``LECTERN_TASK_WORKLOADS``.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import OperationalError

from ai_core.providers import ProviderError

logger = logging.getLogger(__name__)


def _sync_or_retry(task, document_id: int, *, removal_only: bool = False):
    from .indexing import document_index_sync

    try:
        return document_index_sync(document_id=int(document_id), removal_only=removal_only)
    except (ProviderError, OperationalError) as err:
        # A remote embedder hiccup or a lock timeout is worth another try; a rejected input is not.
        # A bad *file* never gets here: it is a recorded status, not an exception.
        if isinstance(err, ProviderError) and not err.retryable:
            raise
        countdown = get_exponential_backoff_interval(factor=2, retries=task.request.retries, maximum=60)
        raise task.retry(countdown=countdown) from err


@shared_task(
    bind=True,
    name="content.index_document",
    ignore_result=True,
    max_retries=5,
    # Extraction of a large PDF plus its embedding: more than a page needs.
    soft_time_limit=240,
    time_limit=280,
)
def index_document(self, document_id: int) -> None:
    """Make the knowledge index match library document ``document_id`` (upload, replace, re-index)."""
    _sync_or_retry(self, document_id)


@shared_task(
    bind=True,
    name="content.unindex_document",
    ignore_result=True,
    max_retries=5,
    soft_time_limit=110,
    time_limit=140,
)
def unindex_document(self, document_id: int) -> None:
    """The after-commit re-check of a document taken away from visitors (deleted, made private),
    on the removals queue, which no re-index backlog fills. It only removes: a document that
    visitors may read again by the time it runs is handed to ``index_document`` on the indexing
    queue, so the removals workers never extract, load the embedder or wait on it."""
    if _sync_or_retry(self, document_id, removal_only=True) is None:
        logger.info(
            "document %s is public again; its index run is queued for the indexing workers", document_id
        )
        index_document.delay(int(document_id))
