"""A contradicted figure against the running stack (uvicorn, a real worker, Redis, PostgreSQL, the
real Anthropic SDK streaming slowly from the fake provider): a published article says 30 days, the
model answers "within 14 days [1]". The visitor's answer stream, read live as EventSource would,
never carries that sentence; neither do the poll API and the no-JS page; the item waits in the
review queue with contradicted_figure at high priority."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth import get_user_model

from ai_core.models import AIRequest
from ai_core.rag.models import KnowledgeChunk
from review import rules
from review.models import ReviewItem
from tests.browser.helpers import publish_article, wait_for_summary
from tests.conftest import live_stack

from .test_gate_paths_live import csrf, finished, signed_in, sse, visitor_views

pytestmark = pytest.mark.django_db(transaction=True)

PASSAGE = (
    "You can ask for a refund within 30 days of purchase by writing to support. "
    "Refunds are paid to the original payment method within 10 working days."
)
SUPPORTED = "Refunds are paid to the original payment method within 10 working days [1]."
CONTRADICTED = "You can ask for a refund within 14 days of purchase by writing to support [1]."


@pytest.fixture
def stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    with live_stack(
        "figures-live",
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_FALLBACK_TO_LOCAL="false",
        AI_TASK_MAX_RETRIES="0",
    ) as web:
        yield web


def block(kind: str, value) -> dict:
    return {"type": kind, "value": value, "id": str(uuid.uuid4())}


def test_a_streamed_answer_contradicting_its_cited_block_never_shows_that_sentence(stack, fake_provider):
    article = publish_article(
        stack,
        slug=f"refund-window-{uuid.uuid4().hex[:6]}",
        blocks=[
            block("heading", {"text": "Refund window", "level": "h2"}),
            block("paragraph", f"<p>{PASSAGE}</p>"),
        ],
    )
    wait_for_summary(article, revision_id=article.live_revision_id)  # so the scripted reply is the answer's
    fake_provider.script(path="/v1/messages", reply=f"{SUPPORTED} {CONTRADICTED}", delta_delay=0.05)
    user = get_user_model().objects.create_user("vera", "vera@example.com", "pw-vera-12345")
    with signed_in(stack, user) as http:
        response = http.post(
            "/api/ai/ask/", json={"question": "How long do I have to ask for a refund?"}, headers=csrf(http)
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        live: list[dict] = []
        events = sse(http, accepted["stream_url"], on_event=live.append)
        assert "14 days" not in json.dumps(live)
        assert events[-1]["event"] == "done" and events[-1]["data"]["status"] == "awaiting_review"
        assert events[-1]["data"]["text"] == ""
        body = finished(http, accepted)
        assert (body["status"], body["result"]) == ("awaiting_review", None)
        assert "14 days" not in visitor_views(http, accepted)

    request = AIRequest.objects.get(pk=accepted["id"])
    (source,) = [c for c in request.citations if c["number"] == 1]
    chunk = KnowledgeChunk.objects.get(pk=int(source["chunk_id"]))
    assert chunk.page_id == article.pk and "30 days" in chunk.text  # [1] is the block that says 30 days
    item = ReviewItem.objects.get(ai_request=request)
    assert rules.CONTRADICTED_FIGURE in item.reasons and item.priority == ReviewItem.Priority.HIGH
    assert CONTRADICTED in item.original_text
