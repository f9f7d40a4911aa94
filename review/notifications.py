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
from .selectors import APPROVE_PERMISSION, reviewer_emails

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


def _still_a_reviewer(user) -> bool:
    # As review.assignment.user_can_be_assigned; not imported, as assignment queues this module's task.
    return user.is_active and user.has_perm(APPROVE_PERMISSION)


def _by_recipients(items: list[ReviewItem], group: list[str]) -> list[tuple[list[str], list[ReviewItem]]]:
    """An assigned item is mailed to its assignee alone; an unassigned one (or one whose assignee
    can no longer decide, or has no address) to every reviewer."""
    batches: dict[tuple[str, ...], list[ReviewItem]] = {}
    for item in items:
        assignee = item.assignee
        to = (
            (assignee.email,) if assignee and assignee.email and _still_a_reviewer(assignee) else tuple(group)
        )
        if to:
            batches.setdefault(to, []).append(item)
    return [(list(to), batch) for to, batch in batches.items()]


def review_digest_send() -> int:
    """One mail listing the high-priority items not yet mailed; returns how many it listed."""
    # Cleared first: an item flagged from now on schedules the next digest rather than being
    # missed by this one's query.
    shared_redis().delete(digest_marker_key())
    recipients = reviewer_emails()
    with transaction.atomic():
        items = list(
            ReviewItem.objects.select_for_update(skip_locked=True, of=("self", "ai_request"))
            .select_related("ai_request", "assignee")
            .filter(
                status=ReviewItem.Status.PENDING, priority=ReviewItem.Priority.HIGH, notified_at__isnull=True
            )
            .order_by("created_at")
        )
        if not items:
            return 0
        batches = _by_recipients(items, recipients)
        if not batches:
            logger.warning("review digest: %d high-priority items but no reviewer has an email", len(items))
            return 0
        mailed = []
        for to, batch in batches:
            subject = (
                f"[{settings.WAGTAIL_SITE_NAME}] {len(batch)} high-priority AI output(s) awaiting review"
            )
            _send(subject=subject, template="review/emails/digest.txt", items=batch, recipients=to)
            mailed += [item.pk for item in batch]
        ReviewItem.objects.filter(pk__in=mailed).update(notified_at=timezone.now())
    return len(mailed)


def review_escalation_send(*, item_ids: list[int]) -> None:
    recipients = reviewer_emails()
    items = list(
        ReviewItem.objects.select_related("ai_request", "assignee")
        .filter(pk__in=item_ids)
        .order_by("created_at")
    )
    for to, batch in _by_recipients(items, recipients):
        subject = (
            f"[{settings.WAGTAIL_SITE_NAME}] {len(batch)} AI output(s) escalated: pending review too long"
        )
        _send(subject=subject, template="review/emails/escalation.txt", items=batch, recipients=to)


def review_assignment_notice_send(*, item_ids: list[int]) -> bool:
    """Tell a reviewer items were assigned to them (by someone else), in one mail. Returns whether
    it was sent: items decided or reassigned meanwhile are left out, and none left sends nothing."""
    items = list(
        ReviewItem.objects.select_related("ai_request", "assignee")
        .filter(pk__in=item_ids, status=ReviewItem.Status.PENDING, assignee__isnull=False)
        .order_by("-priority", "created_at")
    )
    assignee = items[0].assignee if items else None
    if assignee is None or not assignee.email or not _still_a_reviewer(assignee):
        return False
    items = [item for item in items if item.assignee_id == assignee.pk]
    count = len(items)
    subject = f"[{settings.WAGTAIL_SITE_NAME}] {count} AI output(s) awaiting review assigned to you"
    _send(subject=subject, template="review/emails/assigned.txt", items=items, recipients=[assignee.email])
    return True
