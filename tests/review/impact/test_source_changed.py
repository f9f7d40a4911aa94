"""A publish that changes a passage an approved answer cites: the answer leaves reuse and comes back
to the queue as a "source changed" item with the old and new text of the block, which a reviewer
approves again (as it stands or edited) or rejects. Through a real publish and index run (the
on-commit tasks run inline, as eager Celery)."""

from __future__ import annotations

import re

import pytest
from wagtail.models import Site

from ai_core.answers.api import ApprovedAnswer
from ai_core.models import AIRequest
from ai_core.rag.models import KnowledgeChunk
from review.models import ReviewItem
from review.services import (
    ReviewDecisionError,
    review_item_approve,
    review_item_approve_with_edits,
    review_item_create,
)
from tests.review.conftest import admin_url

pytestmark = pytest.mark.django_db

REFUND = "Refunds are paid back to the original card within 30 days of the return arriving."
REFUND_NEW = "Refunds are paid back to the original card within 14 days of the return arriving."
SALE = "Items bought in the seasonal sale can be exchanged but are not refunded."
APPROVED = "Refunds are paid to your card within 30 days [1]."
ITEMS = [("h2", "Refunds"), ("p", REFUND), ("h2", "Sales"), ("p", SALE)]


@pytest.fixture
def page(section, publish, fake_embedder):
    return publish(section, title="Refund terms", slug="refunds", items=ITEMS)


def chunk_of(page, needle: str) -> KnowledgeChunk:
    return next(c for c in KnowledgeChunk.objects.filter(page_id=page.pk) if needle in c.text)


@pytest.fixture
def approved(page, reviewer, make_held):
    """A visitor answer citing the refund paragraph, held and then approved by a reviewer."""
    chunk = chunk_of(page, "30 days")
    item = make_held(
        APPROVED,
        prompt_key="rag_answer",
        citations=[
            {"number": 1, "chunk_id": str(chunk.pk), "title": "Refund terms", "url": chunk.anchor_url}
        ],
        cited_chunk_ids=[str(chunk.pk)],
        site_id=Site.objects.get(is_default_site=True).pk,
        locale="en",
    )
    review_item_approve(item=item, user=reviewer)
    return ApprovedAnswer.objects.get(source_request=item.ai_request)


def edit_block(page, needle: str, text: str) -> None:
    """Change one paragraph's text as the editor does: same blocks, same ids."""
    raw = list(page.body.raw_data)
    index = next(i for i, b in enumerate(raw) if needle in str(b["value"]))
    raw[index] = {**raw[index], "value": f"<p>{text}</p>"}
    page.body = raw


def republish(publish, page, *, needle: str = "30 days", text: str = REFUND_NEW):
    edit_block(page, needle, text)
    return publish(page.get_parent(), title=page.title, slug=page.slug, page=page)


def source_changed_item() -> ReviewItem:
    return ReviewItem.objects.get(kind=ReviewItem.Kind.SOURCE_CHANGED)


def test_changing_a_cited_paragraph_retires_the_answer_and_queues_it_with_the_diff(
    client, reviewer, page, approved, publish
):
    assert approved.is_active
    republish(publish, page)

    approved.refresh_from_db()
    assert approved.status == ApprovedAnswer.Status.RETIRED
    assert approved.retired_reason == ApprovedAnswer.RetireReason.SOURCE_CHANGED
    item = source_changed_item()
    assert item.is_pending and item.approved_answer == approved
    assert item.original_text == APPROVED
    (change,) = item.source_changes
    (block,) = change["blocks"]
    assert (block["old"], block["new"]) == (REFUND, REFUND_NEW)
    assert block["label"] == "Under “Refunds”"
    # The item's request cites the passage as it reads now, so the sources shown are the new text.
    new_chunk = chunk_of(page, "14 days")
    assert item.ai_request.status == AIRequest.Status.AWAITING_REVIEW
    assert [c["chunk_id"] for c in item.ai_request.citations] == [str(new_chunk.pk)]
    assert change["new_chunk_id"] == new_chunk.pk

    client.force_login(reviewer)
    listing = client.get(admin_url("index") + "?kind=source_changed").content.decode()
    assert 'data-review-kind="source_changed"' in listing
    html = client.get(admin_url("inspect", item)).content.decode()
    assert "Cited source changed" in html and "Under “Refunds”" in html
    section = html[html.index("data-review-source-changes") :]
    assert re.search(
        r'<del class="review-diff__del">30</del>\s*<ins class="review-diff__ins">14</ins>', section
    )
    assert "days of the return arriving" in section


def test_an_edit_elsewhere_on_the_page_leaves_the_answer_in_service(page, approved, publish):
    republish(publish, page, needle="seasonal sale", text="Sale items can only be exchanged.")
    approved.refresh_from_db()
    assert approved.is_active
    assert not ReviewItem.objects.filter(kind=ReviewItem.Kind.SOURCE_CHANGED).exists()


def test_re_approving_locks_a_new_answer_to_the_new_passage(reviewer, page, approved, publish):
    republish(publish, page)
    item = source_changed_item()
    review_item_approve(item=item, user=reviewer)

    fresh = ApprovedAnswer.objects.get(status=ApprovedAnswer.Status.ACTIVE)
    assert fresh.supersedes == approved and fresh.text == APPROVED
    new_chunk = chunk_of(page, "14 days")
    assert fresh.cited_chunk_ids == [new_chunk.pk]
    assert fresh.sources[0]["content_hash"] == new_chunk.content_hash
    approved.refresh_from_db()
    assert approved.status == ApprovedAnswer.Status.RETIRED  # keeps why it left service


def test_re_approving_with_edits_reuses_the_edited_text(reviewer, page, approved, publish):
    republish(publish, page)
    item = source_changed_item()
    review_item_approve_with_edits(
        item=item, user=reviewer, edited_text="Refunds are paid to your card within 14 days [1]."
    )
    fresh = ApprovedAnswer.objects.get(status=ApprovedAnswer.Status.ACTIVE)
    assert fresh.text == "Refunds are paid to your card within 14 days [1]." and fresh.edited
    assert fresh.cited_chunk_ids == [chunk_of(page, "14 days").pk]


def test_rejecting_keeps_the_answer_out_of_service(client, reviewer, page, approved, publish):
    republish(publish, page)
    item = source_changed_item()
    client.force_login(reviewer)
    response = client.post(admin_url("reject", item), {"note": "The refund period changed."})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.REJECTED
    assert not ApprovedAnswer.objects.filter(status=ApprovedAnswer.Status.ACTIVE).exists()


def test_a_second_change_before_the_decision_replaces_the_item_with_a_diff_from_the_approved_text(
    reviewer, page, approved, publish
):
    republish(publish, page)
    first = source_changed_item()
    third = REFUND_NEW.replace("14", "21")
    republish(publish, page, needle="14 days", text=third)

    first.refresh_from_db()
    assert first.status == ReviewItem.Status.REJECTED and first.reviewer is None
    assert "page changed again" in first.decision_note
    with pytest.raises(ReviewDecisionError):
        review_item_approve(item=first, user=reviewer)
    second = ReviewItem.objects.get(kind=ReviewItem.Kind.SOURCE_CHANGED, status=ReviewItem.Status.PENDING)
    assert second.approved_answer == approved
    assert f"#{second.pk}" in first.decision_note
    (change,) = second.source_changes
    (block,) = change["blocks"]
    assert (block["old"], block["new"]) == (REFUND, third)  # from the text as approved

    review_item_approve(item=second, user=reviewer)
    fresh = ApprovedAnswer.objects.get(status=ApprovedAnswer.Status.ACTIVE)
    assert fresh.cited_chunk_ids == [chunk_of(page, "21 days").pk]


def test_a_redelivered_flag_does_not_duplicate_the_item(page, approved, publish):
    republish(publish, page)
    item = source_changed_item()
    again = review_item_create(ai_request=item.ai_request, reasons=[])
    assert again.pk == item.pk and again.kind == ReviewItem.Kind.SOURCE_CHANGED


def test_without_the_old_revision_the_diff_falls_back_to_the_cited_passage(page, approved, publish):
    """Revisions can be purged (``purge_revisions``): the passage as approved is diffed instead."""
    from wagtail.models import Revision

    Revision.objects.filter(object_id=str(page.pk)).exclude(pk=page.live_revision_id).delete()
    Revision.objects.filter(pk=page.live_revision_id).delete()
    page.refresh_from_db()
    republish(publish, page)
    (change,) = source_changed_item().source_changes
    (block,) = change["blocks"]
    assert block["label"] == "Refunds"  # the passage's heading path
    assert (block["old"], block["new"]) == (REFUND, REFUND_NEW)


def test_the_held_re_review_is_never_shown_to_a_visitor_over_http(
    client, visitor, reviewer, page, approved, publish
):
    republish(publish, page)
    item = source_changed_item()
    url = f"/api/ai/requests/{item.ai_request_id}/"
    assert client.get(url).status_code == 404  # anonymous
    assert client.get(f"{url}stream/").status_code == 404
    client.force_login(visitor)  # the visitor who asked the original question
    assert client.get(url).status_code == 404
    review_item_approve(item=item, user=reviewer)
    assert client.get(url).status_code == 404
