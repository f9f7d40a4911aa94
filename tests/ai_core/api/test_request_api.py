"""The submit/poll API: 202 on valid input, a clear 4xx for everything else, nothing enqueued then."""

import json

import pytest
from django.contrib.auth import get_user_model

from ai_core.models import AIRequest, LLMUsageLog
from ai_core.prompts.registry import get_prompt

pytestmark = pytest.mark.django_db

SUBMIT = "/api/ai/requests/"


@pytest.fixture
def editor(db):
    return get_user_model().objects.create_user("editor", "editor@example.com", "pw-editor-1")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def post_json(client, url, data, **extra):
    body = data if isinstance(data, bytes | str) else json.dumps(data)
    return client.post(url, body, content_type="application/json", **extra)


def test_valid_submit_answers_202_with_poll_and_stream_urls_and_enqueues_after_commit(
    editor_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_json(
            editor_client, SUBMIT, {"prompt_key": "content_classify", "payload": {"text": "Invoices"}}
        )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["poll_url"] == f"/api/ai/requests/{body['id']}/"
    assert body["stream_url"] == f"/api/ai/requests/{body['id']}/stream/"
    request = AIRequest.objects.get(pk=body["id"])
    assert (request.prompt_key, request.prompt_version) == (
        "content_classify",
        get_prompt("content_classify").version,
    )
    assert len(callbacks) == 1  # exactly one task, queued only once the row is committed
    assert not LLMUsageLog.objects.exists()  # the handler itself called no model


@pytest.mark.parametrize(
    ("body", "status", "code", "mentions"),
    [
        (b"{not json", 400, "malformed_json", "Malformed JSON"),
        (b"\xff\xfe{}", 400, "invalid_encoding", "UTF-8"),
        ([1, 2], 400, "invalid", "object"),
        ({"prompt_key": "no_such_prompt", "payload": {}}, 400, "unknown_prompt", "no_such_prompt"),
        ({"prompt_key": "content_classify", "payload": {}}, 400, "missing_variables", "text"),
        ({"prompt_key": "content_classify", "payload": {"text": ["a"]}}, 400, "invalid_type", "text"),
        ({"prompt_key": "content_classify", "payload": "text"}, 400, "invalid", "payload"),
        ({"prompt_key": "content_classify"}, 400, "invalid", "payload"),
        ({"prompt_key": 7, "payload": {}}, 400, "invalid", "prompt_key"),
        (
            {"prompt_key": "content_classify", "payload": {"text": "x"}, "page_id": "abc"},
            400,
            "invalid",
            "page_id",
        ),
    ],
)
def test_bad_input_gets_a_clear_400_and_nothing_is_stored_or_enqueued(
    editor_client, django_capture_on_commit_callbacks, body, status, code, mentions
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_json(editor_client, SUBMIT, body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert mentions in error["message"]
    assert not AIRequest.objects.exists()
    assert callbacks == []


def test_oversized_payload_is_413(editor_client, settings):
    settings.AI_CORE = {**settings.AI_CORE, "MAX_PAYLOAD_BYTES": 1000}
    response = post_json(
        editor_client, SUBMIT, {"prompt_key": "content_classify", "payload": {"text": "x" * 2000}}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not AIRequest.objects.exists()


def test_anonymous_visitor_cannot_use_editor_prompts(client):
    response = post_json(client, SUBMIT, {"prompt_key": "content_classify", "payload": {"text": "x"}})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "login_required"
    assert not AIRequest.objects.exists()


def test_another_users_request_is_404_not_403(editor_client, client, django_user_model):
    other = django_user_model.objects.create_user("other", "o@example.com", "pw-other-1")
    theirs = AIRequest.objects.create(user=other, prompt_key="content_classify", prompt_version=1)
    assert editor_client.get(f"/api/ai/requests/{theirs.pk}/").status_code == 404
    client.logout()
    assert client.get(f"/api/ai/requests/{theirs.pk}/").status_code == 404


def test_another_visitors_session_cannot_read_an_anonymous_request(client):
    visitor_a = client
    request_id = post_json(visitor_a, "/api/ai/ask/", {"question": "Refunds?"}).json()["id"]
    from django.test import Client

    visitor_b = Client()
    assert visitor_b.get(f"/api/ai/requests/{request_id}/").status_code == 404
    assert visitor_a.get(f"/api/ai/requests/{request_id}/").status_code == 200


def test_unknown_and_malformed_ids_are_404(editor_client):
    assert editor_client.get("/api/ai/requests/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert editor_client.get("/api/ai/requests/not-a-uuid/").status_code == 404


def test_session_clients_must_send_the_csrf_token(editor):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    response = post_json(strict, SUBMIT, {"prompt_key": "content_classify", "payload": {"text": "x"}})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert not AIRequest.objects.exists()


def test_wrong_methods_are_405(editor_client):
    assert editor_client.get(SUBMIT).status_code == 405
