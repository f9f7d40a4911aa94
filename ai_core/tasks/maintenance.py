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
