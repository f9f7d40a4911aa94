"""Feedback: one changeable vote per person per output; summaries are rateable by every visitor."""

import json

import pytest
from django.test import Client

from ai_core.models import AIFeedback, AIRequest

pytestmark = pytest.mark.django_db


def vote(client, request_id, value, comment=""):
    return client.post(
        f"/api/ai/requests/{request_id}/feedback/",
        json.dumps({"vote": value, "comment": comment}),
        content_type="application/json",
    )


@pytest.fixture
def own_answer(client):
    accepted = client.post(
        "/api/ai/ask/", json.dumps({"question": "Refunds?"}), content_type="application/json"
    )
    request = AIRequest.objects.get(pk=accepted.json()["id"])
    request.status = AIRequest.Status.DONE
    request.result = "Within 30 days [1]."
    request.save()
    return request


def test_voting_again_changes_the_vote_instead_of_adding_one(client, own_answer):
    assert vote(client, own_answer.pk, "up").status_code == 200
    assert vote(client, own_answer.pk, "down", "Too vague").status_code == 200
    (feedback,) = AIFeedback.objects.all()
    assert (feedback.vote, feedback.comment) == ("down", "Too vague")
    assert (feedback.prompt_key, feedback.prompt_version) == ("rag_answer", own_answer.prompt_version)


def test_someone_elses_answer_cannot_be_rated(own_answer):
    assert vote(Client(), own_answer.pk, "up").status_code == 404
    assert not AIFeedback.objects.exists()


def test_a_public_summary_takes_one_vote_per_visitor():
    summary = AIRequest.objects.create(
        prompt_key="page_summary",
        prompt_version=2,
        session_key="system",
        status=AIRequest.Status.DONE,
        result="- x",
    )
    first, second = Client(), Client()
    first.get("/api/ai/csrf/")
    second.get("/api/ai/csrf/")
    for client in (first, second, first):
        assert vote(client, summary.pk, "down").status_code == 200
    assert AIFeedback.objects.filter(request=summary).count() == 2


def test_a_summary_awaiting_review_cannot_be_rated():
    summary = AIRequest.objects.create(
        prompt_key="page_summary",
        prompt_version=2,
        session_key="system",
        status=AIRequest.Status.AWAITING_REVIEW,
    )
    assert vote(Client(), summary.pk, "up").status_code == 404


@pytest.mark.parametrize("body", [{"vote": "meh"}, {"vote": "up", "comment": "x" * 1001}, {"vote": None}])
def test_invalid_votes_are_400_and_store_nothing(client, own_answer, body):
    response = client.post(
        f"/api/ai/requests/{own_answer.pk}/feedback/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    assert not AIFeedback.objects.exists()
