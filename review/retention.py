"""Review's part in retention (``AI_CORE["PRIVACY"]``): what must outlive the period, and the
review items' own copies of an anonymised output.

ai_core runs the purge and keeps, on its own, requests awaiting review and those behind active
approved answers; this hook adds the requests of every item a reviewer has still to decide (a
"source changed" item waits on a request that is long done).
"""

from __future__ import annotations

from django.db.models import QuerySet

from .models import ReviewItem


def retained_request_ids() -> QuerySet:
    """``AI_CORE["PRIVACY"]["RETENTION_KEEP"]``: AIRequest ids of pending review items."""
    return ReviewItem.objects.filter(status=ReviewItem.Status.PENDING).values("ai_request_id")


def review_items_anonymise(*, request_ids: list) -> int:
    """Blank the model's and the reviewer's text of decided items whose request was anonymised;
    the decision, its reviewer, note and history stay. Pending items are never anonymised (the
    hook above keeps their requests)."""
    return (
        ReviewItem.objects.filter(ai_request_id__in=request_ids)
        .exclude(status=ReviewItem.Status.PENDING)
        .update(original_text="", edited_text="")
    )


def on_requests_anonymised(sender, *, request_ids, **kwargs) -> None:
    review_items_anonymise(request_ids=list(request_ids))
