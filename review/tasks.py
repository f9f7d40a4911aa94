"""Celery tasks of the review app. Thin adapters: each calls one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="review.send_digest", ignore_result=True, soft_time_limit=60, time_limit=90)
def send_review_digest() -> int:
    """Queued with a countdown by the first high-priority item of a batch window."""
    from .notifications import review_digest_send

    return review_digest_send()


@shared_task(name="review.escalate_stale", ignore_result=True, soft_time_limit=60, time_limit=90)
def escalate_stale_reviews() -> int:
    """Beat task: items pending longer than ESCALATE_AFTER_MINUTES become high priority."""
    from .services import review_items_escalate

    return len(review_items_escalate())


@shared_task(name="review.send_assignment_notice", ignore_result=True, soft_time_limit=60, time_limit=90)
def send_assignment_notice(item_ids: list[int]) -> bool:
    """Queued on commit when a reviewer assigns items to a colleague."""
    from .notifications import review_assignment_notice_send

    return review_assignment_notice_send(item_ids=item_ids)
