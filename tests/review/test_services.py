"""Queue writes: flagging is idempotent and prioritised; decisions are single and race-safe."""

import pytest

from ai_core.models import AIRequest
from ai_core.prompts.registry import get_prompt
from ai_core.services.processing import ai_request_process
from review import rules
from review.models import ReviewItem
from review.services import (
    ReviewDecisionError,
    review_item_approve,
    review_item_approve_with_edits,
    review_item_create,
    review_items_decide_bulk,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("reasons", "priority"),
    [
        ([rules.HIGH_STAKES], ReviewItem.Priority.HIGH),
        ([rules.WEAK_GROUNDING, rules.PERSONAL_DATA], ReviewItem.Priority.HIGH),
        ([rules.WEAK_GROUNDING], ReviewItem.Priority.NORMAL),
        ([rules.REFUSAL], ReviewItem.Priority.LOW),
    ],
)
def test_priority_is_computed_from_the_reasons(make_held, reasons, priority):
    assert make_held(reasons=reasons).priority == priority


def test_flagging_the_same_request_twice_keeps_one_item(make_held):
    item = make_held()
    again = review_item_create(ai_request=item.ai_request, reasons=[rules.REFUSAL])
    assert again.pk == item.pk and ReviewItem.objects.count() == 1


def test_an_item_whose_request_is_no_longer_held_cannot_be_decided(make_held, reviewer):
    item = make_held()
    AIRequest.objects.filter(pk=item.ai_request_id).update(status=AIRequest.Status.CANCELLED)
    with pytest.raises(ReviewDecisionError, match="no longer awaiting review"):
        review_item_approve(item=item, user=reviewer)
    assert ReviewItem.objects.get(pk=item.pk).is_pending


def test_an_unchanged_edit_is_a_plain_approval_and_an_empty_one_is_refused(make_held, reviewer):
    item = make_held()
    with pytest.raises(ReviewDecisionError):
        review_item_approve_with_edits(item=item, user=reviewer, edited_text="   ")
    decided = review_item_approve_with_edits(item=item, user=reviewer, edited_text=item.original_text + "\n")
    assert decided.status == ReviewItem.Status.APPROVED and decided.edited_text == ""


def test_bulk_decisions_skip_items_a_colleague_already_decided(make_held, reviewer):
    first, second = make_held(), make_held()
    review_item_approve(item=first, user=reviewer)
    outcome = review_items_decide_bulk(
        item_ids=[first.pk, second.pk], user=reviewer, decision="reject", note="x"
    )
    assert (outcome.decided, outcome.skipped) == ([second.pk], [first.pk])
    assert ReviewItem.objects.get(pk=first.pk).status == ReviewItem.Status.APPROVED


def test_a_high_stakes_prompt_processed_in_the_worker_is_queued_with_high_priority(visitor):
    spec = get_prompt("contract_analysis")
    ai_request = AIRequest.objects.create(
        user=visitor,
        prompt_key=spec.key,
        prompt_version=spec.version,
        payload=dict.fromkeys(spec.variables, "The tenant may terminate with one month's notice."),
    )
    assert ai_request_process(request_id=str(ai_request.pk)).status == AIRequest.Status.AWAITING_REVIEW
    item = ReviewItem.objects.get(ai_request=ai_request)  # created by the request_flagged receiver
    assert item.reasons[0] == rules.HIGH_STAKES and item.priority == ReviewItem.Priority.HIGH
    assert item.original_text == AIRequest.objects.get(pk=ai_request.pk).result
