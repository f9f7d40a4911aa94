"""The SSE relay: replay from the start, resume after Last-Event-ID, finish from the row, owner only."""

import json

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model

from ai_core.models import AIRequest
from ai_core.streams import stream_publish

pytestmark = [pytest.mark.django_db(transaction=True)]


def parse_sse(body: str) -> list[dict]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "event" in fields:
            events.append(
                {"id": fields.get("id"), "event": fields["event"], "data": json.loads(fields["data"])}
            )
    return events


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("reader", "reader@example.com", "pw-reader-1")


@pytest.fixture
def ai_request(owner):
    return AIRequest.objects.create(
        user=owner, prompt_key="rag_answer", prompt_version=1, payload={"question": "q"}
    )


def read_stream(client, ai_request, **headers) -> list[dict]:
    response = client.get(f"/api/ai/requests/{ai_request.pk}/stream/", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    return parse_sse(async_to_sync(_collect)(response).decode())


async def _collect(response) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


def publish_answer(ai_request):
    ids = [
        stream_publish(ai_request.pk, "delta", {"text": "Refunds are possible "}),
        stream_publish(ai_request.pk, "delta", {"text": "within 30 days [1]."}),
        stream_publish(
            ai_request.pk, "done", {"status": "done", "citations": [{"number": 1, "url": "/x/#block-1"}]}
        ),
    ]
    return ids


def test_a_late_client_replays_the_whole_answer_then_the_citations(client, owner, ai_request):
    publish_answer(ai_request)
    client.force_login(owner)
    events = read_stream(client, ai_request)
    assert [e["event"] for e in events] == ["delta", "delta", "done"]
    assert (
        "".join(e["data"]["text"] for e in events if e["event"] == "delta")
        == "Refunds are possible within 30 days [1]."
    )
    assert events[-1]["data"]["citations"][0]["url"] == "/x/#block-1"


def test_a_reconnecting_client_resumes_after_last_event_id(client, owner, ai_request):
    ids = publish_answer(ai_request)
    client.force_login(owner)
    events = read_stream(client, ai_request, HTTP_LAST_EVENT_ID=ids[0])
    assert [e["id"] for e in events] == ids[1:]
    assert events[0]["data"]["text"] == "within 30 days [1]."


def test_a_finished_request_whose_stream_expired_still_gets_its_outcome(client, owner, ai_request):
    ai_request.status = AIRequest.Status.DONE
    ai_request.result = "Stored answer [1]."
    ai_request.save()
    client.force_login(owner)
    (event,) = read_stream(client, ai_request)
    assert event["event"] == "done"
    assert event["data"]["text"] == "Stored answer [1]."


def test_an_answer_awaiting_review_never_reaches_the_stream_as_text(client, owner, ai_request):
    ai_request.status = AIRequest.Status.AWAITING_REVIEW
    ai_request.result = "Flagged text"
    ai_request.save()
    stream_publish(ai_request.pk, "done", {"status": "awaiting_review", "text": "", "citations": []})
    client.force_login(owner)
    body = json.dumps(read_stream(client, ai_request))
    assert "Flagged text" not in body


def test_another_users_stream_is_404(client, ai_request, django_user_model):
    publish_answer(ai_request)
    client.force_login(django_user_model.objects.create_user("other", "o@example.com", "pw-other-12"))
    response = client.get(f"/api/ai/requests/{ai_request.pk}/stream/")
    assert response.status_code == 404


def test_a_malformed_last_event_id_is_400(client, owner, ai_request):
    client.force_login(owner)
    response = client.get(f"/api/ai/requests/{ai_request.pk}/stream/", HTTP_LAST_EVENT_ID="0; DROP")
    assert response.status_code == 400
