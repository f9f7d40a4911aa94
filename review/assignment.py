"""Who works on which item: assigning pending items to a reviewer, and the reads that go with it.

Only users who may decide (the approve permission, through "Legal reviewers" or directly, or a
superuser) can be assigned or assign; an item is assigned while it is pending and keeps its last
assignee once decided, as a record of who had it. Mail about an assigned item goes to its assignee
(``review.notifications``); an unassigned item keeps going to every reviewer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from wagtail.admin.utils import get_user_display_name
from wagtail.log_actions import log

from .models import ReviewItem
from .selectors import APPROVE_PERMISSION

logger = logging.getLogger(__name__)

ACTION_ASSIGN = "review.assign"
ACTION_UNASSIGN = "review.unassign"


class ReviewAssignmentError(Exception):
    """The assignment cannot be made; the message says why, for the reviewer."""


# --- Reads


def review_assignable_users() -> QuerySet:
    """Active users who may decide on items, by display order: the people an item can go to."""
    app_label, codename = APPROVE_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    holds = Q(is_superuser=True)
    if permission is not None:
        holds |= Q(groups__permissions=permission) | Q(user_permissions=permission)
    users = get_user_model().objects.filter(holds, is_active=True).distinct()
    return users.order_by(get_user_model().USERNAME_FIELD)


def user_can_be_assigned(user) -> bool:
    return user is not None and user.is_active and user.has_perm(APPROVE_PERMISSION)


def reviewer_label(user) -> str:
    return get_user_display_name(user) if user is not None else "Unassigned"


def review_pending_assigned_count(*, user) -> int:
    return ReviewItem.objects.filter(status=ReviewItem.Status.PENDING, assignee=user).count()


def review_items_filter_by_assignee(*, queryset: QuerySet, assignee: str, user) -> QuerySet:
    """``assignee``: "me", "none" (unassigned) or a user's primary key, as the queue's filter sends it.
    Raises ValueError for anything else, which the queue answers with a 400."""
    if assignee == "me":
        return queryset.filter(assignee=user)
    if assignee == "none":
        return queryset.filter(assignee__isnull=True)
    if assignee.isdigit():
        return queryset.filter(assignee_id=int(assignee))
    raise ValueError(f"unknown assignee filter {assignee!r}")


# --- Writes


def _notify_on_commit(*, item_ids: list[int], assignee, user) -> None:
    """One mail to the assignee listing what was just assigned to them, unless they did it."""
    if not item_ids or assignee is None or assignee.pk == getattr(user, "pk", None) or not assignee.email:
        return
    from .tasks import send_assignment_notice

    ids = list(item_ids)
    transaction.on_commit(lambda: send_assignment_notice.delay(ids), robust=True)


def review_item_assign(*, item: ReviewItem, assignee, user, notify: bool = True) -> ReviewItem:
    """Assign ``item`` to ``assignee`` (``None`` unassigns), as ``user`` did. Logged in the item's
    history; the assignee is told by mail unless they assigned it to themselves."""
    if assignee is not None and not user_can_be_assigned(assignee):
        raise ReviewAssignmentError(f"{reviewer_label(assignee)} is not a legal reviewer.")
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item.pk)
        if not item.is_pending:
            raise ReviewAssignmentError(
                f"{item} has already been {item.get_status_display().lower()}; only pending items are assigned."
            )
        if item.assignee_id == getattr(assignee, "pk", None):
            return item
        previous = item.assignee
        item.assignee, item.assigned_at = assignee, timezone.now() if assignee is not None else None
        item.save(update_fields=["assignee", "assigned_at"])
        log(
            instance=item,
            action=ACTION_ASSIGN if assignee is not None else ACTION_UNASSIGN,
            user=user,
            data={
                "assignee": reviewer_label(assignee) if assignee is not None else "",
                "assignee_id": getattr(assignee, "pk", None),
                "previous": reviewer_label(previous) if previous is not None else "",
            },
        )
        if notify:
            _notify_on_commit(item_ids=[item.pk], assignee=assignee, user=user)
    logger.info("review item %s assigned to %s by %s", item.pk, getattr(assignee, "pk", None), user.pk)
    return item


@dataclass(kw_only=True)
class BulkAssignOutcome:
    assigned: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def review_items_assign_bulk(*, item_ids: Iterable[int], assignee, user) -> BulkAssignOutcome:
    """Assign several items at once, each in its own transaction: one a colleague decided meanwhile
    is skipped rather than failing the rest. The assignee gets one mail listing them all."""
    if assignee is not None and not user_can_be_assigned(assignee):
        raise ReviewAssignmentError(f"{reviewer_label(assignee)} is not a legal reviewer.")
    outcome = BulkAssignOutcome()
    for item in ReviewItem.objects.filter(pk__in=list(item_ids)).order_by("pk"):
        try:
            review_item_assign(item=item, assignee=assignee, user=user, notify=False)
        except ReviewAssignmentError:
            outcome.skipped.append(item.pk)
        else:
            outcome.assigned.append(item.pk)
    _notify_on_commit(item_ids=outcome.assigned, assignee=assignee, user=user)
    return outcome
