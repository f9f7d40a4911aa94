"""Celery tasks of the RAG app. Thin adapters: they take plain values and call one service.

To ingest on a schedule, add to ``CELERY_BEAT_SCHEDULE``::

    "ingest-docs": {"task": "rag.ingest_s3", "schedule": 3600, "kwargs": {"bucket": "docs", "prefix": "help/"}}
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(
    name="rag.ingest_s3",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=1500,
    time_limit=1800,
)
def ingest_s3(bucket: str, prefix: str = "", site_id: int | None = None, locale: str = "en") -> dict:
    """Ingest one bucket prefix; safe to rerun (unchanged objects are skipped)."""
    from .s3 import s3_ingest

    report = s3_ingest(bucket=bucket, prefix=prefix, site_id=site_id, locale=locale)
    logger.info("s3 ingest s3://%s/%s: %s", bucket, prefix, asdict(report))
    return asdict(report)
