"""The gate from the visitor's side: poll API, SSE stream, the no-JS result page and the summary tag.

Pending shows a neutral message, approved shows the text, approved with edits shows the edited
text, rejected shows a neutral message, and the model's held text is never in any response.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from django.template import Context, Template

from ai_core.models import AIRequest
from content.models import PageSummary
from review.services import (
    REJECTED_MESSAGE,
    review_item_approve,
    review_item_approve_with_edits,
    review_item_reject,
)
from tests.content.factories import ArticlePageFactory

from .conftest import FLAGGED_TEXT

pytestmark = pytest.mark.django_db

HELD_PHRASE = "consult a lawyer"  # in FLAGGED_TEXT, outside any citation link
EDITED = "You can get a refund within 30 days [1]. Write to support for anything else."
NEUTRAL_PENDING = "being checked by our team"


def poll(client, item) -> dict:
    response = client.get(f"/api/ai/requests/{item.ai_request_id}/")
    assert response.status_code == 200
    return response.json()


def result_page(client, item) -> str:
    response = client.get(f"/ask/r/{item.ai_request_id}/")
    assert response.status_code == 200
    return response.content.decode()


def sse(client, item) -> list[tuple[str, dict]]:
    def read() -> str:
        response = client.get(f"/api/ai/requests/{item.ai_request_id}/stream/")

        async def collect():
            return b"".join([chunk async for chunk in response.streaming_content]).decode()

        return async_to_sync(collect)()

    # In a thread of its own: a session-wide Playwright elsewhere may hold this thread's event loop,
    # and the test client runs async views through async_to_sync.
    with ThreadPoolExecutor(max_workers=1) as pool:
        body = pool.submit(read).result()
    events = []
    for block in body.split("\n\n"):
        lines = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":")
        )
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.fixture
def held(make_held, client, visitor):
    client.force_login(visitor)
    return make_held()


def test_a_pending_answer_shows_only_a_neutral_message(client, held):
    body = poll(client, held)
    assert body["status"] == "awaiting_review" and body["result"] is None and body["citations"] == []
    assert HELD_PHRASE not in json.dumps(body)
    page = result_page(client, held)
    assert NEUTRAL_PENDING in page and HELD_PHRASE not in page


def test_an_approved_answer_is_shown_with_its_citations(client, held, reviewer):
    review_item_approve(item=held, user=reviewer)
    body = poll(client, held)
    assert (body["status"], body["result"]) == ("done", FLAGGED_TEXT)
    assert [c["number"] for c in body["citations"]] == [1, 2]
    assert HELD_PHRASE in result_page(client, held)


def test_an_answer_approved_with_edits_shows_the_edited_text_and_keeps_the_original(client, held, reviewer):
    review_item_approve_with_edits(item=held, user=reviewer, edited_text=EDITED)
    assert poll(client, held)["result"] == EDITED
    page = result_page(client, held)
    assert "Write to support for anything else." in page and HELD_PHRASE not in page
    held.refresh_from_db()
    assert held.original_text == FLAGGED_TEXT and held.edited_text == EDITED


def test_a_rejected_answer_is_never_shown_and_the_visitor_gets_a_neutral_message(client, held, reviewer):
    review_item_reject(item=held, user=reviewer, note="Gives legal advice.")
    body = poll(client, held)
    assert (body["status"], body["result"], body["error"]) == ("failed", None, REJECTED_MESSAGE)
    assert HELD_PHRASE not in json.dumps(body) and "legal advice" not in json.dumps(body)
    page = result_page(client, held)
    assert REJECTED_MESSAGE in page and HELD_PHRASE not in page
    assert AIRequest.objects.get(pk=held.ai_request_id).result == ""  # kept only on the review item


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("decide", "status", "text"),
    [
        (lambda item, user: review_item_approve(item=item, user=user), "done", FLAGGED_TEXT),
        (
            lambda item, user: review_item_approve_with_edits(item=item, user=user, edited_text=EDITED),
            "done",
            EDITED,
        ),
        (lambda item, user: review_item_reject(item=item, user=user, note="no"), "failed", ""),
    ],
)
def test_a_decision_replaces_the_stream_with_its_final_event(client, held, reviewer, decide, status, text):
    from ai_core.streams import stream_publish

    stream_publish(held.ai_request_id, "done", {"status": "awaiting_review", "text": "", "citations": []})
    assert [e for e, _ in sse(client, held)] == ["done"]
    decide(held, reviewer)
    ((event, data),) = sse(client, held)  # a page connecting now does not replay "awaiting_review"
    assert (event, data["status"], data["text"]) == ("done", status, text)
    if status == "failed":
        assert data["message"] == REJECTED_MESSAGE and data["citations"] == []


def render_summary(page) -> str:
    return Template("{% load lectern_ai %}{% ai_summary page %}").render(Context({"page": page}))


@pytest.fixture
def summarised_page(section, make_held):
    page = ArticlePageFactory(parent=section, title="Refund terms", slug="refund-terms")
    revision = page.save_revision()
    revision.publish()
    page.refresh_from_db()
    item = make_held(prompt_key="page_summary", user=None, page_id=page.pk)
    PageSummary.objects.create(page=page, revision_id=page.live_revision_id, ai_request=item.ai_request)
    return page, item


def test_the_summary_tag_renders_nothing_while_pending_or_rejected_and_the_text_once_approved(
    summarised_page, reviewer, make_held
):
    page, item = summarised_page
    assert render_summary(page).strip() == ""
    review_item_approve_with_edits(item=item, user=reviewer, edited_text=EDITED)
    assert "Write to support for anything else." in render_summary(page)
    assert HELD_PHRASE not in render_summary(page)


def test_a_rejected_summary_renders_nothing(summarised_page, reviewer):
    page, item = summarised_page
    review_item_reject(item=item, user=reviewer, note="Misleading.")
    assert render_summary(page).strip() == ""


@pytest.mark.django_db(transaction=True)  # the stream view reads the rows from another thread
def test_a_held_stopped_partial_shows_nothing_until_approved_and_then_shows_as_stopped(
    client, make_held, visitor, reviewer
):
    from ai_core.selectors import STOPPED

    client.force_login(visitor)
    item = make_held(
        "You can get a refund within 30 days [1]. For anything else, consult a lawyer about",
        error_code=STOPPED,
    )
    assert poll(client, item)["result"] is None and HELD_PHRASE not in result_page(client, item)
    assert [(event, data["text"]) for event, data in sse(client, item)] == [("done", "")]

    review_item_approve(item=item, user=reviewer)
    body = poll(client, item)
    assert (body["status"], body["result"], body["citations"]) == ("cancelled", item.original_text, [])
    page = result_page(client, item)
    assert HELD_PHRASE in page and "Stopped: the answer above is incomplete." in page
