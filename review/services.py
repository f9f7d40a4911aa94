"""Writes of the review queue: flag an output, decide on it, escalate what waits too long.

A decision records itself on the review item and in Wagtail's audit log; the held ``AIRequest``
changes through ai_core's own service (``ai_request_review_resolve``: one writer per table), which,
once committed, tells a waiting visitor page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log

from ai_core.answers.api import approved_answer_create, approved_answer_reapprove
from ai_core.models import AIRequest
from ai_core.services import ReviewNotPending, ai_request_review_resolve

from . import rules
from .conf import review_settings
from .edits import edit_log_data
from .models import ReviewItem

logger = logging.getLogger(__name__)

REJECTED_CODE = "rejected_in_review"
REJECTED_MESSAGE = "Sorry, no answer can be shown for this question."

# Audit-log actions (registered in wagtail_hooks.register_log_actions).
ACTION_FLAG = "review.flag"
ACTION_APPROVE = "review.approve"
ACTION_APPROVE_WITH_EDITS = "review.approve_with_edits"
ACTION_REJECT = "review.reject"
ACTION_ESCALATE = "review.escalate"


class ReviewDecisionError(Exception):
    """The decision cannot be made (already decided, or the request is no longer held)."""


def _priority(reasons: Iterable[str]) -> int:
    conf = review_settings()
    name = rules.priority_for(reasons, high=conf.high_priority_reasons, low=conf.low_priority_reasons)
    return {"high": ReviewItem.Priority.HIGH, "low": ReviewItem.Priority.LOW}.get(
        name, ReviewItem.Priority.NORMAL
    )


def review_item_create(
    *,
    ai_request: AIRequest,
    reasons: list[str],
    kind: str = ReviewItem.Kind.ANSWER,
    approved_answer=None,
    source_changes: list[dict] | None = None,
) -> ReviewItem:
    """Queue a held output. Runs inside the worker's transaction, so the item and the held status
    commit together; a redelivered task finds the existing item instead of adding another.
    ``kind``, ``approved_answer`` and ``source_changes`` describe a "source changed" item
    (``review.impact``)."""
    item, created = ReviewItem.objects.get_or_create(
        ai_request=ai_request,
        defaults={
            "original_text": ai_request.result,
            "reasons": list(reasons),
            "priority": _priority(reasons),
            "kind": kind,
            "approved_answer": approved_answer,
            "source_changes": source_changes or [],
        },
    )
    if created:
        log(
            instance=item,
            action=ACTION_FLAG,
            data={"reasons": list(reasons), "prompt_key": ai_request.prompt_key},
        )
        if item.priority == ReviewItem.Priority.HIGH:
            from .notifications import review_digest_schedule

            transaction.on_commit(review_digest_schedule, robust=True)
    return item


def _reapprove_source_changed(*, item: ReviewItem, text: str, user) -> None:
    """A "source changed" item approved (``text``: as it stood, or edited): a new approved answer,
    locked to the passages the item's request cites now, supersedes the retired one."""
    answer = item.approved_answer
    if answer is None:
        raise ReviewDecisionError("The approved answer this item was about no longer exists.")
    by_number = {int(c["number"]): c for c in item.ai_request.citations}
    chunk_ids = []
    for source in answer.sources or []:
        chunk_id = str(by_number.get(int(source.get("number", 0)), {}).get("chunk_id") or "")
        chunk_ids.append(int(chunk_id) if chunk_id.isdigit() else None)
    try:
        approved_answer_reapprove(answer=answer, text=text, approved_by=user, chunk_ids=chunk_ids)
    except ValueError as err:
        raise ReviewDecisionError(
            "A passage this answer cites is no longer on the page, or changed again since this item "
            "was queued, so it cannot be approved for reuse. Reject it: visitors who ask again get a "
            "fresh answer."
        ) from err


def _decide(*, item: ReviewItem, user, status: str, note: str, edited_text: str | None = None) -> ReviewItem:
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item.pk)
        if not item.is_pending:
            raise ReviewDecisionError(f"{item} has already been {item.get_status_display().lower()}.")
        try:
            # The model's text stays on the item; a rejected request never shows it again.
            ai_request = ai_request_review_resolve(
                request_id=item.ai_request_id,
                approved=status != ReviewItem.Status.REJECTED,
                edited_text=edited_text,
                rejected_message=REJECTED_MESSAGE,
                rejected_code=REJECTED_CODE,
            )
        except ReviewNotPending as err:
            raise ReviewDecisionError(f"{item} is no longer awaiting review ({err.status}).") from err
        item.status, item.reviewer, item.decided_at = status, user, timezone.now()
        item.decision_note, item.edited_text = note, edited_text or ""
        item.save(update_fields=["status", "reviewer", "decided_at", "decision_note", "edited_text"])
        if status != ReviewItem.Status.REJECTED and item.kind == ReviewItem.Kind.SOURCE_CHANGED:
            _reapprove_source_changed(item=item, text=ai_request.result, user=user)
        elif status != ReviewItem.Status.REJECTED and rules.PERSONAL_DATA not in item.reasons:
            # Kept for reuse (ai_core decides whether this kind of output can answer later questions).
            # Not when it was held for personal data: approved for the person who asked, it may still
            # carry their details, and a reuse would show them to everyone asking alike.
            approved_answer_create(
                request=ai_request,
                text=ai_request.result,
                approved_by=user,
                edited=status == ReviewItem.Status.APPROVED_WITH_EDITS,
            )
        action = {
            ReviewItem.Status.APPROVED: ACTION_APPROVE,
            ReviewItem.Status.APPROVED_WITH_EDITS: ACTION_APPROVE_WITH_EDITS,
            ReviewItem.Status.REJECTED: ACTION_REJECT,
        }[status]
        data = {"note": note, "ai_request": str(ai_request.pk)}
        data.update(edit_log_data(original=item.original_text, edited=edited_text))
        log(instance=item, action=action, user=user, data=data)
    logger.info("review item %s %s by %s", item.pk, status, getattr(user, "pk", None))
    item.ai_request = ai_request
    return item


def review_item_approve(*, item: ReviewItem, user, note: str = "") -> ReviewItem:
    return _decide(item=item, user=user, status=ReviewItem.Status.APPROVED, note=note.strip())


def review_item_approve_with_edits(*, item: ReviewItem, user, edited_text: str, note: str = "") -> ReviewItem:
    """Visitors get the edited text; the item keeps the original. No change is a plain approval."""
    edited = edited_text.strip()
    if not edited:
        raise ReviewDecisionError("The edited text is empty; reject the output instead.")
    if edited == item.original_text.strip():
        return review_item_approve(item=item, user=user, note=note)
    return _decide(
        item=item,
        user=user,
        status=ReviewItem.Status.APPROVED_WITH_EDITS,
        note=note.strip(),
        edited_text=edited,
    )


def review_item_reject(*, item: ReviewItem, user, note: str) -> ReviewItem:
    return _decide(item=item, user=user, status=ReviewItem.Status.REJECTED, note=note.strip())


@dataclass(kw_only=True)
class BulkOutcome:
    decided: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def review_items_decide_bulk(*, item_ids: Iterable[int], user, decision: str, note: str = "") -> BulkOutcome:
    """Approve or reject several items, each in its own transaction: one already decided by a
    colleague is skipped rather than failing the rest."""
    decide = {"approve": review_item_approve, "reject": review_item_reject}[decision]
    outcome = BulkOutcome()
    for item in ReviewItem.objects.filter(pk__in=list(item_ids)).order_by("pk"):
        try:
            decide(item=item, user=user, note=note)
        except ReviewDecisionError:
            outcome.skipped.append(item.pk)
        else:
            outcome.decided.append(item.pk)
    return outcome


def review_items_escalate(*, now: datetime | None = None) -> list[int]:
    """Raise items pending longer than ``ESCALATE_AFTER_MINUTES`` to high priority, once each, and
    mail the reviewers about them."""
    now = now or timezone.now()
    cutoff = now - review_settings().escalate_after
    with transaction.atomic():
        stale = list(
            ReviewItem.objects.select_for_update(skip_locked=True).filter(
                status=ReviewItem.Status.PENDING, escalated_at__isnull=True, created_at__lt=cutoff
            )
        )
        for item in stale:
            previous = item.get_priority_display()
            item.escalated_at, item.priority = now, ReviewItem.Priority.HIGH
            item.notified_at = item.notified_at or now  # mailed below; the next digest skips it
            item.save(update_fields=["escalated_at", "priority", "notified_at"])
            log(instance=item, action=ACTION_ESCALATE, data={"previous_priority": previous})
    ids = [item.pk for item in stale]
    if ids:
        from .notifications import review_escalation_send

        review_escalation_send(item_ids=ids)
    return ids
