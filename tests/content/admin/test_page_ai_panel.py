"""The AI tab in the page editor: status for editors, actions only for people who can publish."""

import pytest
from django.contrib.auth.models import Group, Permission
from wagtail.models import GroupPagePermission

from ai_core.models import AIRequest
from content.models import PageSummary
from tests.content.factories import ArticlePageFactory, body_blocks

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(section):
    page = ArticlePageFactory(parent=section, slug="refunds", body=body_blocks("Refunds within 30 days."))
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def editor_without_publish(django_user_model, page):
    user = django_user_model.objects.create_user("writer", "w@example.com", "pw-writer-12")
    group = Group.objects.create(name="Writers")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    GroupPagePermission.objects.create(
        group=group, page=page, permission=Permission.objects.get(codename="change_page")
    )
    user.groups.add(group)
    return user


def test_the_ai_tab_shows_the_summary_status_prompt_version_and_model(client, admin_user, article):
    request = AIRequest.objects.create(
        prompt_key="page_summary", prompt_version=2, session_key="system", status=AIRequest.Status.DONE,
        result="- Refunds within 30 days [1]", provider="local", model_used="extractive-minilm", page_id=article.pk,
    )  # fmt: skip
    PageSummary.objects.create(page=article, revision_id=article.live_revision_id, ai_request=request)
    client.force_login(admin_user)
    html = client.get(f"/admin/pages/{article.pk}/edit/").content.decode()
    assert "AI summary of the live version" in html
    assert "page_summary v2" in html
    assert "extractive-minilm" in html and "local mode, extractive" in html
    assert "Regenerate summary" in html


def test_an_editor_who_cannot_publish_sees_no_actions_and_gets_403(
    client, django_user_model, article, section
):
    user = editor_without_publish(django_user_model, section)
    client.force_login(user)
    html = client.get(f"/admin/pages/{article.pk}/edit/").content.decode()
    assert "Knowledge index" in html
    assert "Regenerate summary" not in html
    response = client.post(f"/admin/content/summary/{article.pk}/regenerate/")
    assert response.status_code in (302, 403)
    assert response.status_code == 403 or response.url == "/admin/"
    assert not PageSummary.objects.exists()


def test_regenerate_summary_only_enqueues(client, admin_user, article, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    response = client.post(f"/admin/content/summary/{article.pk}/regenerate/")
    assert response.status_code == 302
    summary = PageSummary.objects.get(page=article)
    assert summary.revision_id == article.live_revision_id
    assert summary.ai_request.prompt_key == "page_summary"
