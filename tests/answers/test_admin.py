"""Approved answers in the admin, under Review: the listing, and Retire (permission-checked, POST
with CSRF). A retired answer is never served again."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from ai_core.answers.api import approved_answer_create
from ai_core.answers.embedding import approved_answer_embed
from ai_core.answers.reuse import approved_answer_match
from ai_core.models import ApprovedAnswer
from ai_core.prompts.registry import get_prompt

from .conftest import QUESTION, ask

pytestmark = pytest.mark.django_db

INDEX = "/admin/review/approved-answers/"


@pytest.fixture
def legal_reviewer(db):
    group, _ = Group.objects.get_or_create(name="Legal reviewers")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="review", codename__in=["approve_reviewitem", "view_reviewitem"]
        ),
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
    )
    user = get_user_model().objects.create_user("lena", "lena@example.com", "pw-lena-12345")
    user.groups.add(group)
    return user


@pytest.fixture
def editor(db):
    user = get_user_model().objects.create_user("eddie", "eddie@example.com", "pw-eddie-12345")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def approved(answered, legal_reviewer):
    answer = approved_answer_create(
        request=answered(question="How long do <b>refunds</b> take?"),
        text="Within 30 days [1].",
        approved_by=legal_reviewer,
    )
    approved_answer_embed(answer_id=answer.pk)
    ApprovedAnswer.objects.filter(pk=answer.pk).update(hits=7)
    return answer


def client_for(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_a_reviewer_sees_question_hits_last_use_and_sources_escaped(approved, legal_reviewer):
    response = client_for(legal_reviewer).get(INDEX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "How long do &lt;b&gt;refunds&lt;/b&gt; take?" in html and "<b>refunds</b>" not in html
    assert "Within 30 days [1]." in html and ">7<" in html and "Never" in html
    assert approved.sources[0]["url"] in html
    assert reverse("review_approved_answer_retire", args=[approved.pk]) in html


def test_an_answer_asked_on_a_page_names_the_page(answered, legal_reviewer, refund_page):
    approved_answer_create(
        request=answered(page=refund_page), text="Within 30 days [1].", approved_by=legal_reviewer
    )
    html = client_for(legal_reviewer).get(INDEX).content.decode()
    assert f"Asked on {refund_page.title}" in html


def test_the_menu_lists_approved_answers_next_to_the_review_queue(approved, legal_reviewer):
    html = client_for(legal_reviewer).get("/admin/").content.decode()
    assert "Approved answers" in html and INDEX in html


def test_retire_is_a_post_with_csrf_and_the_answer_is_then_never_served(approved, legal_reviewer):
    client = client_for(legal_reviewer)
    url = reverse("review_approved_answer_retire", args=[approved.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403  # no CSRF token
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(INDEX).content.decode()
    ).group(1)
    response = client.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    approved.refresh_from_db()
    assert (approved.status, approved.retired_by) == ("retired", legal_reviewer)
    later = ask(QUESTION, like=approved.source_request)
    assert approved_answer_match(request=later, spec=get_prompt("rag_answer")) is None
    # It is listed as retired, without a Retire button.
    html = client.get(INDEX, {"status": "retired"}).content.decode()
    assert "Retired by a reviewer" in html and url not in html


def test_an_editor_may_look_but_not_retire(approved, editor):
    client = client_for(editor)
    html = client.get(INDEX).content.decode()
    retire_url = reverse("review_approved_answer_retire", args=[approved.pk])
    assert "Within 30 days" in html and retire_url not in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    data = {"csrfmiddlewaretoken": token.group(1)} if token else {}
    response = client.post(retire_url, data)
    assert response.status_code == 403
    approved.refresh_from_db()
    assert approved.is_active


def test_a_visitor_without_admin_access_gets_nothing(approved):
    visitor = get_user_model().objects.create_user("vera", "vera@example.com", "pw-vera-12345")
    client = client_for(visitor)
    assert client.get(INDEX).status_code in (302, 403)
    anonymous = Client()
    assert anonymous.get(INDEX).status_code == 302  # to the login page
    assert anonymous.post(reverse("review_approved_answer_retire", args=[approved.pk])).status_code in (
        302,
        403,
    )
    approved.refresh_from_db()
    assert approved.is_active


def test_retiring_an_unknown_answer_is_404(legal_reviewer):
    client = Client()
    client.force_login(legal_reviewer)
    assert client.post(reverse("review_approved_answer_retire", args=[999999])).status_code == 404


def test_a_retired_answer_whose_question_retention_removed_says_so(approved, legal_reviewer):
    ApprovedAnswer.objects.filter(pk=approved.pk).update(status=ApprovedAnswer.Status.RETIRED, question="")
    html = client_for(legal_reviewer).get(INDEX, {"status": "retired"}).content.decode()
    assert "Question removed by the retention policy" in html and "Within 30 days [1]." in html
