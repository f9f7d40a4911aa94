"""Every publishing route reaches the index: admin edit view, bulk publish, scheduled publishing,
unpublish (admin and expiry), deletion, and moves. Tasks run inline here (eager Celery), after
commit, exactly as the receivers queue them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from wagtail.models import Page
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from ai_core.rag.models import KnowledgeChunk, PageIndexState
from content.models import ArticlePage
from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory

from .conftest import body

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.com", "pw-editor-1")
    client.force_login(user)
    return client


def draft(section, slug="refunds", text="Annual plans can be refunded within 30 days.") -> ArticlePage:
    page = ArticlePageFactory(parent=section, title="Refunds", slug=slug, body=body(("p", text)), live=False)
    page.save_revision()
    return page


def chunk_count(page) -> int:
    return KnowledgeChunk.objects.filter(page_id=page.pk).count()


def test_publishing_from_the_admin_edit_view_indexes_the_page(
    fake_embedder, section, editor_client, django_capture_on_commit_callbacks
):
    page = draft(section)
    data = nested_form_data(
        {
            "title": "Refunds",
            "slug": "refunds",
            "intro": "",
            "body": streamfield([("paragraph", rich_text("<p>Refunds are paid to the original card.</p>"))]),
            "action-publish": "action-publish",
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(f"/admin/pages/{page.pk}/edit/", data)
    assert response.status_code == 302, response.content[:500]
    texts = list(KnowledgeChunk.objects.filter(page_id=page.pk).values_list("text", flat=True))
    assert texts == ["Refunds are paid to the original card."]


def test_bulk_publish_indexes_every_selected_page(
    fake_embedder, section, editor_client, django_capture_on_commit_callbacks
):
    pages = [draft(section, slug=f"p{n}", text=f"Rule number {n} applies.") for n in range(3)]
    query = "&".join(f"id={p.pk}" for p in pages)
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(f"/admin/bulk/wagtailcore/page/publish/?{query}", {})
    assert response.status_code == 302
    assert [chunk_count(p) for p in pages] == [1, 1, 1]


def test_scheduled_publishing_indexes_when_the_page_goes_live(
    fake_embedder, section, django_capture_on_commit_callbacks
):
    page = draft(section)
    page.go_live_at = timezone.now() - timedelta(minutes=1)
    page.save_revision(approved_go_live_at=timezone.now() - timedelta(minutes=1))
    assert chunk_count(page) == 0
    with django_capture_on_commit_callbacks(execute=True):
        call_command("publish_scheduled")
    assert Page.objects.get(pk=page.pk).live
    assert chunk_count(page) == 1


def test_unpublishing_in_the_admin_removes_the_chunks(
    fake_embedder, section, publish, editor_client, django_capture_on_commit_callbacks
):
    page = publish(section, title="Refunds", slug="refunds", items=[("p", "Refunds within 30 days.")])
    assert chunk_count(page) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(f"/admin/pages/{page.pk}/unpublish/", {})
    assert response.status_code == 302
    assert chunk_count(page) == 0
    assert PageIndexState.objects.get(page_id=page.pk).status == "unpublished"


def test_expiry_through_publish_scheduled_removes_the_chunks(
    fake_embedder, section, publish, django_capture_on_commit_callbacks
):
    page = publish(section, title="Refunds", slug="refunds", items=[("p", "Refunds within 30 days.")])
    Page.objects.filter(pk=page.pk).update(expire_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("publish_scheduled")
    assert chunk_count(page) == 0


def test_deleting_a_page_in_the_admin_removes_the_chunks(
    fake_embedder, section, publish, editor_client, django_capture_on_commit_callbacks
):
    page = publish(section, title="Refunds", slug="refunds", items=[("p", "Refunds within 30 days.")])
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(f"/admin/pages/{page.pk}/delete/", {})
    assert response.status_code == 302
    assert not Page.objects.filter(pk=page.pk).exists()
    assert chunk_count(page) == 0
    assert PageIndexState.objects.get(page_id=page.pk).status == "deleted"


def test_deleting_a_section_removes_its_articles_chunks(
    fake_embedder, section, publish, django_capture_on_commit_callbacks
):
    page = publish(section, title="Refunds", slug="refunds", items=[("p", "Refunds within 30 days.")])
    with django_capture_on_commit_callbacks(execute=True):
        Page.objects.get(pk=section.pk).delete()
    assert chunk_count(page) == 0


def test_moving_a_page_updates_its_urls_without_re_embedding(
    fake_embedder, home, section, publish, django_capture_on_commit_callbacks
):
    page = publish(section, title="Refunds", slug="refunds", items=[("p", "Refunds within 30 days.")])
    other = ArticleIndexPageFactory(parent=home, title="Legal", slug="legal")
    calls_before = len(fake_embedder.calls)
    with django_capture_on_commit_callbacks(execute=True):
        Page.objects.get(pk=page.pk).move(other, pos="last-child")
    assert set(KnowledgeChunk.objects.filter(page_id=page.pk).values_list("url", flat=True)) == {
        "/legal/refunds/"
    }
    assert len(fake_embedder.calls) == calls_before


def test_renaming_a_section_slug_refreshes_descendant_urls(
    fake_embedder, section, publish, django_capture_on_commit_callbacks
):
    page = publish(section, title="Refunds", slug="refunds", items=[("p", "Refunds within 30 days.")])
    section.slug = "help"
    with django_capture_on_commit_callbacks(execute=True):
        section.save_revision().publish()
    assert set(KnowledgeChunk.objects.filter(page_id=page.pk).values_list("url", flat=True)) == {
        "/help/refunds/"
    }
