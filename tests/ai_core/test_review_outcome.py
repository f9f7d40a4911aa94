"""A reviewer's decision, applied by ai_core: the held request's status and text change as the
visitor will see them, and its stream is replaced by one final event built by the visibility rule."""

import pytest
from django.db import transaction

from ai_core.models import AIRequest
from ai_core.selectors import STOPPED
from ai_core.services import ReviewNotPending, ai_request_review_resolve
from ai_core.streams import stream_events, stream_publish

pytestmark = pytest.mark.django_db

HELD_TEXT = "Within 30 days [1]. For anything else, consult a lawyer."
CITATIONS = [{"number": 1, "chunk_id": "", "title": "Refund terms", "url": "/guides/refunds/"}]


def held(**fields) -> AIRequest:
    request = AIRequest.objects.create(
        session_key="visitor-session",
        prompt_key="rag_answer",
        prompt_version=1,
        status=AIRequest.Status.AWAITING_REVIEW,
        result=HELD_TEXT,
        citations=CITATIONS,
        model_used="claude-test",
        **fields,
    )
    # What the worker left in the stream before the hold: a page connecting later must not replay it.
    stream_publish(request.pk, "delta", {"text": "Within 30 days"})
    stream_publish(request.pk, "done", {"status": AIRequest.Status.AWAITING_REVIEW, "text": ""})
    return request


def resolve(django_capture_on_commit_callbacks, request: AIRequest, **decision) -> AIRequest:
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            return ai_request_review_resolve(request_id=request.pk, **decision)


def test_an_approval_shows_the_answer_and_the_stream_holds_only_its_final_event(
    django_capture_on_commit_callbacks,
):
    request = held()
    resolve(django_capture_on_commit_callbacks, request, approved=True)
    request.refresh_from_db()
    assert (request.status, request.result) == (AIRequest.Status.DONE, HELD_TEXT)
    ((_id, event, data),) = stream_events(request.pk)
    assert event == "done"
    assert data == {"status": "done", "text": HELD_TEXT, "citations": CITATIONS, "model": "claude-test"}


def test_an_approved_edit_replaces_the_text_everywhere(django_capture_on_commit_callbacks):
    request = held()
    resolve(django_capture_on_commit_callbacks, request, approved=True, edited_text="Within 30 days [1].")
    request.refresh_from_db()
    assert (request.status, request.result) == (AIRequest.Status.DONE, "Within 30 days [1].")
    ((_id, _event, data),) = stream_events(request.pk)
    assert data["text"] == "Within 30 days [1]."


def test_an_approved_answer_the_visitor_stopped_stays_a_stopped_partial(django_capture_on_commit_callbacks):
    request = held(error_code=STOPPED)
    resolve(django_capture_on_commit_callbacks, request, approved=True)
    request.refresh_from_db()
    assert request.status == AIRequest.Status.CANCELLED
    ((_id, _event, data),) = stream_events(request.pk)
    assert (data["status"], data["text"], data["citations"]) == ("cancelled", HELD_TEXT, [])


def test_a_rejection_fails_the_request_and_its_text_is_gone_from_row_and_stream(
    django_capture_on_commit_callbacks,
):
    request = held()
    resolve(
        django_capture_on_commit_callbacks,
        request,
        approved=False,
        rejected_message="Sorry, no answer can be shown.",
        rejected_code="rejected_in_review",
    )
    request.refresh_from_db()
    assert (request.status, request.result) == (AIRequest.Status.FAILED, "")
    assert (request.error, request.error_code) == ("Sorry, no answer can be shown.", "rejected_in_review")
    ((_id, event, data),) = stream_events(request.pk)
    assert event == "done"
    assert (data["status"], data["text"], data["message"]) == ("failed", "", "Sorry, no answer can be shown.")
    assert "lawyer" not in str(stream_events(request.pk))


@pytest.mark.parametrize("status", [AIRequest.Status.DONE, AIRequest.Status.FAILED, AIRequest.Status.PENDING])
def test_a_request_no_longer_held_is_refused_and_left_as_it_is(django_capture_on_commit_callbacks, status):
    request = held()
    AIRequest.objects.filter(pk=request.pk).update(status=status)
    before = stream_events(request.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            with pytest.raises(ReviewNotPending) as refused:
                ai_request_review_resolve(request_id=request.pk, approved=False, rejected_message="No.")
            # The caller's transaction is still usable: the refusal rolled back only its own savepoint.
            assert AIRequest.objects.filter(pk=request.pk).exists()
    assert refused.value.status == status
    assert callbacks == []
    request.refresh_from_db()
    assert (request.status, request.result, request.error) == (status, HELD_TEXT, "")
    assert stream_events(request.pk) == before
