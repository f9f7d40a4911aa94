"""Review's part in retention: pending items keep their request, decided items lose their copy of
the output with it, and the decision itself stays."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ai_core.models import AIRequest
from ai_core.privacy.services import ai_requests_purge_expired
from review.models import ReviewItem
from review.services import review_item_approve_with_edits, review_item_reject

pytestmark = pytest.mark.django_db


@pytest.fixture
def retention_30_days(settings):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "PRIVACY": {**settings.AI_CORE["PRIVACY"], "RETENTION_DAYS": 30},
    }


def age(item: ReviewItem, days: int) -> None:
    AIRequest.objects.filter(pk=item.ai_request_id).update(created_at=timezone.now() - timedelta(days=days))


def test_a_decided_items_texts_go_with_its_request_and_the_decision_stays(
    retention_30_days, make_held, reviewer
):
    item = make_held()
    review_item_approve_with_edits(item=item, user=reviewer, edited_text="Refunds within 30 days [1].")
    age(item, 31)
    assert ai_requests_purge_expired().purged == 1
    item.refresh_from_db()
    assert (item.original_text, item.edited_text) == ("", "")
    assert (item.status, item.reviewer) == (ReviewItem.Status.APPROVED_WITH_EDITS, reviewer)
    assert AIRequest.objects.get(pk=item.ai_request_id).payload == {}


def test_a_pending_item_keeps_its_request_even_when_the_request_is_done(retention_30_days, make_held):
    """A "source changed" item waits on a request that finished long ago: the hook keeps it."""
    item = make_held()
    AIRequest.objects.filter(pk=item.ai_request_id).update(status=AIRequest.Status.DONE)
    age(item, 90)
    assert ai_requests_purge_expired().purged == 0
    item.refresh_from_db()
    assert item.original_text and AIRequest.objects.get(pk=item.ai_request_id).payload


def test_delete_mode_removes_decided_items_with_their_request(settings, make_held, reviewer):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "PRIVACY": {**settings.AI_CORE["PRIVACY"], "RETENTION_DAYS": 30, "RETENTION_ACTION": "delete"},
    }
    decided, pending = make_held(), make_held()
    review_item_reject(item=decided, user=reviewer, note="Legal advice.")
    age(decided, 31)
    age(pending, 31)
    assert ai_requests_purge_expired().purged == 1
    assert list(ReviewItem.objects.values_list("pk", flat=True)) == [pending.pk]
