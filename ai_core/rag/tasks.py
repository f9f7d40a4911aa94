"""Celery tasks of the RAG app. Thin adapters: they take plain values and call one service.

To ingest on a schedule, add to ``CELERY_BEAT_SCHEDULE``::

    "ingest-docs": {
        "task": "rag.ingest_s3",
        "schedule": 3600,
        "kwargs": {"bucket": "docs", "prefix": "help/", "site_id": None},  # None: shared by all sites
    }
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(
    name="rag.ingest_s3",
    ignore_result=True,
    soft_time_limit=1500,
    time_limit=1800,
)
def ingest_s3(bucket: str, prefix: str, site_id: int | None, locale: str = "en") -> dict:
    """Ingest one bucket prefix; safe to rerun (unchanged objects are skipped).

    The hard limit (30 min) is longer than the broker's visibility timeout, so a long run's message
    is redelivered to another worker while it still works: the service's lease makes that copy
    return at once. ``site_id`` has no default: ``None`` (shared by every site) must be said.
    """
    from .s3 import S3IngestBusy, S3IngestRefused, s3_ingest

    try:
        report = s3_ingest(bucket=bucket, prefix=prefix, site_id=site_id, locale=locale)
    except S3IngestBusy as err:
        logger.info("s3 ingest skipped: %s", err)
        return {"skipped": str(err)}
    except S3IngestRefused as err:  # settings say no; retrying would not change that
        logger.error("s3 ingest refused: %s", err)
        return {"refused": str(err)}
    logger.info("s3 ingest s3://%s/%s: %s", bucket, prefix, asdict(report))
    return asdict(report)


@shared_task(name="rag.scope_indexes_sync", ignore_result=True, soft_time_limit=3300, time_limit=3500)
def scope_indexes_sync(min_rows: int | None = None, max_share: float | None = None) -> dict:
    """Daily (beat): the scope indexes follow the index as it grows, a site or locale is added or
    a site removed, as ``manage.py rag_scope_indexes`` would (nothing to do: a few queries).

    A run longer than the broker's visibility timeout is redelivered while it works; the copy
    finds the run's lock taken and returns. A build cut off by the time limit leaves an invalid
    index, which the next run rebuilds.
    """
    from .services.scope_indexes import DEFAULT_MAX_SHARE, DEFAULT_MIN_ROWS, ScopeIndexError
    from .services.scope_indexes import scope_indexes_sync as sync

    try:
        _, run = sync(
            min_rows=DEFAULT_MIN_ROWS if min_rows is None else min_rows,
            max_share=DEFAULT_MAX_SHARE if max_share is None else max_share,
            progress=logger.info,
        )
    except ScopeIndexError as err:
        logger.info("scope indexes skipped: %s", err)
        return {"skipped": str(err)}
    if run.created or run.dropped:
        logger.info(
            "scope indexes: %d built, %d dropped, %d kept", len(run.created), len(run.dropped), run.kept
        )
    return {"created": run.created, "dropped": run.dropped, "kept": run.kept}
