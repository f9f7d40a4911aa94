"""A reviewer's decision in the review queue keeps (or does not keep) an approved answer."""

from __future__ import annotations

import pytest

from ai_core.models import AIRequest, ApprovedAnswer
from review.services import (
    review_item_approve,
    review_item_approve_with_edits,
    review_item_create,
    review_item_reject,
)

pytestmark = pytest.mark.django_db


def held(answered, reasons):
    request = answered(status=AIRequest.Status.AWAITING_REVIEW)
    return review_item_create(ai_request=request, reasons=reasons)


def test_approving_keeps_the_answer_for_reuse(answered, reviewer):
    item = review_item_approve(item=held(answered, ["professional_referral"]), user=reviewer)
    answer = ApprovedAnswer.objects.get(source_request=item.ai_request)
    assert (answer.text, answer.edited, answer.approved_by) == (item.ai_request.result, False, reviewer)


def test_approving_with_edits_keeps_the_edited_text(answered, reviewer):
    item = review_item_approve_with_edits(
        item=held(answered, ["weak_grounding"]), user=reviewer, edited_text="Within 30 days [1]."
    )
    answer = ApprovedAnswer.objects.get(source_request=item.ai_request)
    assert (answer.text, answer.edited) == ("Within 30 days [1].", True)


def test_a_rejection_keeps_nothing(answered, reviewer):
    review_item_reject(item=held(answered, ["refusal"]), user=reviewer, note="wrong")
    assert not ApprovedAnswer.objects.exists()


def test_an_answer_held_for_personal_data_is_shown_to_its_asker_but_never_reused(answered, reviewer):
    item = review_item_approve(item=held(answered, ["personal_data"]), user=reviewer)
    assert item.ai_request.status == AIRequest.Status.DONE
    assert not ApprovedAnswer.objects.exists()
