"""Site maintenance run by Celery beat (``CELERY_BEAT_SCHEDULE`` in settings/base.py).

Both are framework management commands that nothing else would ever run: Wagtail publishes and
expires scheduled pages and snippets (prompt templates included) only inside ``publish_scheduled``,
and Django deletes expired sessions only inside ``clearsessions``. The tasks are thin adapters
around ``call_command``, so what runs is exactly what an operator would run by hand.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from ai_core.locks import advisory_lock

logger = logging.getLogger(__name__)

# Upper bound on revisions published or unscheduled one by one in a run after the command failed.
MAX_RECOVERED = 100


@shared_task(name="maintenance.publish_scheduled", ignore_result=True, soft_time_limit=50, time_limit=60)
def publish_scheduled() -> bool:
    """Make due go-live and expiry dates take effect. Returns False when another run was busy.

    Two runs at once (a slow run overlapping the next beat tick) would publish the same revision
    twice, with two audit-log entries and two index tasks; the second run steps aside instead.
    """
    with advisory_lock("maintenance:publish_scheduled") as acquired:
        if not acquired:
            logger.info("publish_scheduled is already running; skipped")
            return False
        for _ in range(MAX_RECOVERED):
            try:
                call_command("publish_scheduled")
                return True
            except Exception as err:
                if not _publish_or_unschedule_first_due(err):
                    raise
        call_command("publish_scheduled")
    return True


def _publish_or_unschedule_first_due(err: Exception) -> bool:
    """After the command failed, settle the earliest due revision by hand; False if none is due.

    Wagtail's command publishes due revisions in go-live order and stops at the first exception,
    so one revision that cannot publish (a prompt whose tested content was overwritten, and which
    the golden-case gate therefore refuses) would block every later page and prompt, every minute,
    forever. Publishing it alone tells whether it is the culprit: if it fails too, its schedule is
    cancelled (Wagtail records "unscheduled" in the object's history) and the error is logged.
    """
    from wagtail.models import Revision

    due = (
        Revision.objects.filter(approved_go_live_at__lt=timezone.now())
        .order_by("approved_go_live_at")
        .first()
    )
    if due is None:
        return False
    try:
        with transaction.atomic():
            due.publish(log_action="wagtail.publish.scheduled")
    except Exception as own_err:
        logger.error(
            "scheduled publish of %s (revision %s) failed and was unscheduled: %s (the run failed with: %r)",
            due.object_str,
            due.pk,
            own_err,
            err,
        )
        due.approved_go_live_at = None
        due.save(update_fields=["approved_go_live_at"])
    return True


@shared_task(name="maintenance.clear_sessions", ignore_result=True, soft_time_limit=600, time_limit=660)
def clear_sessions() -> None:
    """Delete expired sessions (anonymous visitors' sessions included), which Django never does itself."""
    call_command("clearsessions")
