"""Mail to reviewers: new high-priority items in batches, and escalations.

Batching: the first high-priority item of a quiet spell sets a Redis marker and queues one digest
task ``EMAIL_BATCH_SECONDS`` later; items arriving meanwhile find the marker and wait for that mail.
The digest lists every high-priority pending item not mailed before, so none is lost or repeated.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from wagtail_modeladmin.helpers import AdminURLHelper

from ai_core.resilience.runtime import redis_key, shared_redis

from .conf import review_settings
from .models import ReviewItem
from .selectors import reviewer_emails

logger = logging.getLogger(__name__)


def digest_marker_key() -> str:
    return redis_key("review", "digest-scheduled")


def review_digest_schedule() -> bool:
    """Queue the digest unless one is already on its way. Returns whether this call queued it."""
    from .tasks import send_review_digest

    window = review_settings().email_batch_seconds
    # The marker outlives the countdown so a slow queue cannot let a second mail in; if the task
    # is lost the marker expires and the next item schedules again (unmailed items are kept).
    if not shared_redis().set(digest_marker_key(), "1", nx=True, ex=window * 2 + 60):
        return False
    send_review_digest.apply_async(countdown=window)
    return True


def _admin_url(item: ReviewItem) -> str:
    path = AdminURLHelper(ReviewItem).get_action_url("inspect", item.pk)
    return f"{settings.WAGTAILADMIN_BASE_URL.rstrip('/')}{path}"


def _send(*, subject: str, template: str, items: list[ReviewItem], recipients: list[str]) -> None:
    lines = [{"item": item, "url": _admin_url(item)} for item in items]
    body = render_to_string(template, {"lines": lines, "count": len(items)})
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)


def review_digest_send() -> int:
    """One mail listing the high-priority items not yet mailed; returns how many it listed."""
    # Cleared first: an item flagged from now on schedules the next digest rather than being
    # missed by this one's query.
    shared_redis().delete(digest_marker_key())
    recipients = reviewer_emails()
    with transaction.atomic():
        items = list(
            ReviewItem.objects.select_for_update(skip_locked=True)
            .select_related("ai_request")
            .filter(
                status=ReviewItem.Status.PENDING, priority=ReviewItem.Priority.HIGH, notified_at__isnull=True
            )
            .order_by("created_at")
        )
        if not items:
            return 0
        if not recipients:
            logger.warning("review digest: %d high-priority items but no reviewer has an email", len(items))
            return 0
        subject = f"[{settings.WAGTAIL_SITE_NAME}] {len(items)} high-priority AI output(s) awaiting review"
        _send(subject=subject, template="review/emails/digest.txt", items=items, recipients=recipients)
        ReviewItem.objects.filter(pk__in=[item.pk for item in items]).update(notified_at=timezone.now())
    return len(items)


def review_escalation_send(*, item_ids: list[int]) -> None:
    recipients = reviewer_emails()
    items = list(
        ReviewItem.objects.select_related("ai_request").filter(pk__in=item_ids).order_by("created_at")
    )
    if not items or not recipients:
        return
    subject = f"[{settings.WAGTAIL_SITE_NAME}] {len(items)} AI output(s) escalated: pending review too long"
    _send(subject=subject, template="review/emails/escalation.txt", items=items, recipients=recipients)
