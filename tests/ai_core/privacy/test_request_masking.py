"""A visitor's e-mail address or phone number is masked before the question is stored, so neither
the database nor the model (which is given the stored question) ever sees it."""

import json

import pytest

from ai_core.models import AIRequest
from ai_core.privacy.masking import EMAIL_MASK, PHONE_MASK
from ai_core.prompts.registry import get_prompt

pytestmark = pytest.mark.django_db

SUBMIT = "/api/ai/requests/"
QUESTION = "I'm jo@example.org or +44 20 7946 0958: can I return order 123456789012 after 30 days?"


def ask(client, question=QUESTION) -> AIRequest:
    response = client.post(
        SUBMIT,
        json.dumps({"prompt_key": "rag_answer", "payload": {"question": question}}),
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    return AIRequest.objects.get(pk=response.json()["id"])


def test_a_visitors_contact_details_are_not_stored(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():  # the worker is not run: this is what it would read
        request = ask(client)
    stored = request.payload["question"]
    assert "jo@example.org" not in stored and "7946" not in stored
    assert stored == (f"I'm {EMAIL_MASK} or {PHONE_MASK}: can I return order 123456789012 after 30 days?")
    assert "jo@example.org" not in json.dumps(list(AIRequest.objects.values("payload", "result", "error")))


def test_the_prompt_the_model_is_given_holds_the_masked_question(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        request = ask(client)
    # As the worker renders it (ai_core/services/processing.py): from the stored payload.
    rendered = get_prompt("rag_answer").render({**request.payload, "sources": "(none)"})
    assert f"{EMAIL_MASK} or {PHONE_MASK}: can I return order 123456789012 after 30 days?" in rendered.user
    assert "jo@example.org" not in rendered.user + rendered.system


def test_a_setting_keeps_contact_details(client, settings, django_capture_on_commit_callbacks):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "PRIVACY": {**settings.AI_CORE["PRIVACY"], "MASK_CONTACT_DETAILS": []},
    }
    with django_capture_on_commit_callbacks():
        request = ask(client)
    assert request.payload["question"] == QUESTION


def test_prompts_not_listed_keep_their_input(client, django_user_model, django_capture_on_commit_callbacks):
    """An editor's classification text (not a visitor question) is stored as given."""
    client.force_login(django_user_model.objects.create_user("ed", "ed@example.com", "pw-ed-12345"))
    with django_capture_on_commit_callbacks():
        response = client.post(
            SUBMIT,
            json.dumps({"prompt_key": "content_classify", "payload": {"text": "Contact ed@example.com"}}),
            content_type="application/json",
        )
    assert AIRequest.objects.get(pk=response.json()["id"]).payload == {"text": "Contact ed@example.com"}
