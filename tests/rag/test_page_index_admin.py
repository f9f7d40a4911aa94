"""Admin: index status in the page editor's header menu, a Re-index action and a bulk Re-index,
all of which only queue work."""

from __future__ import annotations

import pytest

from ai_core.rag.models import KnowledgeChunk
from content.tasks import index_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(fake_embedder, section, publish):
    return publish(section, title="Refunds", slug="refunds", items=[("p", "Annual plans are refunded.")])


@pytest.fixture
def queued(monkeypatch):
    """Record index tasks instead of running them, to prove the admin only enqueues."""
    sent: list[int] = []
    monkeypatch.setattr(index_page, "delay", lambda page_id: sent.append(page_id))
    return sent


def test_the_editor_header_shows_index_status(page, admin_client):
    response = admin_client.get(f"/admin/pages/{page.pk}/edit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Index: 1 chunk" in html
    assert f"/admin/content/index-status/{page.pk}/" in html


def test_the_status_page_shows_chunks_embedder_and_staleness(page, admin_client, fake_embedder):
    response = admin_client.get(f"/admin/content/index-status/{page.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert fake_embedder.embedder_id in html and "Re-index" in html and "Stale AI outputs" in html


def test_re_index_only_enqueues(page, admin_client, queued, django_capture_on_commit_callbacks):
    KnowledgeChunk.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/content/index-status/{page.pk}/", {"next": "https://evil.example/"}
        )
    assert response.status_code == 302 and response["Location"] == f"/admin/pages/{page.pk}/edit/"
    assert queued == [page.pk]
    assert not KnowledgeChunk.objects.exists()  # nothing ran in the request


def test_editors_who_cannot_publish_cannot_re_index(page, client, django_user_model, queued):
    user = django_user_model.objects.create_user("viewer", password="pw-viewer-1")
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    assert client.post(f"/admin/content/index-status/{page.pk}/").status_code in (302, 403)
    assert queued == []


def test_bulk_re_index_enqueues_each_selected_page(
    fake_embedder, section, publish, admin_client, queued, django_capture_on_commit_callbacks
):
    pages = [publish(section, title=f"P{n}", slug=f"p{n}", items=[("p", f"Rule {n}.")]) for n in range(3)]
    queued.clear()  # publishing queued them once already
    query = "&".join(f"id={p.pk}" for p in pages)
    confirm = admin_client.get(f"/admin/bulk/wagtailcore/page/reindex/?{query}")
    assert confirm.status_code == 200 and "Yes, re-index" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/bulk/wagtailcore/page/reindex/?{query}", {})
    assert response.status_code == 302
    assert sorted(queued) == sorted(p.pk for p in pages)


def test_bulk_re_index_of_a_section_with_descendants_queues_its_articles(
    page, section, admin_client, queued, django_capture_on_commit_callbacks
):
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            f"/admin/bulk/wagtailcore/page/reindex/?id={section.pk}", {"include_descendants": "on"}
        )
    assert queued == [page.pk]
