"""Periodic upkeep of AI requests (Celery beat): requeue or expire the ones a worker lost."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="ai_core.recover_stalled_requests", ignore_result=True, soft_time_limit=60, time_limit=90)
def recover_stalled_requests() -> None:
    from ai_core.services.recovery import ai_requests_recover_stalled

    report = ai_requests_recover_stalled()
    if report.requeued or report.expired:
        logger.warning("stalled ai_requests: requeued=%s expired=%s", report.requeued, report.expired)


@shared_task(name="ai_core.purge_expired_requests", ignore_result=True, soft_time_limit=300, time_limit=330)
def purge_expired_requests() -> int:
    """Beat task: visitor requests older than AI_CORE["PRIVACY"]["RETENTION_DAYS"] are anonymised
    or deleted (ai_core/privacy/services.py). Off by default; one run at a time."""
    from ai_core.locks import advisory_lock
    from ai_core.privacy.services import ai_requests_purge_expired

    with advisory_lock("maintenance:purge_expired_requests") as acquired:
        if not acquired:
            logger.info("purge_expired_requests is already running; skipped")
            return 0
        return ai_requests_purge_expired().purged
