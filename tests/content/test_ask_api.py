"""The site's page-aware question endpoint, POST /api/ai/ask/: a visitor asks, then polls the
answer through ai_core's API under the same namespace."""

import json

import pytest

from ai_core.models import AIRequest

pytestmark = pytest.mark.django_db

ASK = "/api/ai/ask/"


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_anonymous_visitor_can_ask_and_poll_their_own_question(client):
    response = post_json(client, ASK, {"question": "  How do refunds work?  "})
    assert response.status_code == 202
    poll = client.get(response.json()["poll_url"])
    assert poll.status_code == 200
    body = poll.json()
    assert body["prompt_key"] == "rag_answer"
    assert set(body) >= {"id", "status", "result", "error", "citations", "prompt_key", "prompt_version"}
    assert AIRequest.objects.get().payload == {"question": "How do refunds work?"}


def test_ask_requires_a_question(client):
    response = post_json(client, ASK, {"question": "   "})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == ["question"]
    assert not AIRequest.objects.exists()


def test_ask_only_accepts_post(client):
    assert client.get(ASK).status_code == 405
