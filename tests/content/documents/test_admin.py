"""Admin: a document's edit view shows its index status with a Re-index action, the document
listing has a bulk Re-index; both only queue work, and only for users who may change the document."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from ai_core.rag.models import KnowledgeChunk
from content.documents.tasks import index_document
from tests.rag.doc_factories import corrupt_pdf_bytes, encrypted_pdf_bytes, pdf_bytes

pytestmark = pytest.mark.django_db

PAGES = ["Page one of the handbook.", "Page two: holidays are booked in the staff portal."]


@pytest.fixture
def queued(monkeypatch):
    """Index tasks recorded instead of run, from the point the test clears the list (uploads made
    before that queue their own)."""
    sent: list[int] = []
    monkeypatch.setattr(index_document, "delay", lambda document_id: sent.append(document_id))
    return sent


def test_the_edit_view_shows_index_status_pages_and_chunks(fake_embedder, upload, admin_client):
    document = upload(pdf_bytes(PAGES), filename="handbook.pdf", title="Handbook")
    html = admin_client.get(f"/admin/documents/edit/{document.pk}/").content.decode()
    assert 'data-document-index-status="indexed"' in html
    assert "Indexed at" in html and "<dt>Pages</dt>" in html and "<dd>2</dd>" in html
    assert f'formaction="/admin/content/documents/{document.pk}/reindex/"' in html


def test_the_edit_view_says_why_a_file_is_not_indexed(fake_embedder, upload, admin_client):
    document = upload(encrypted_pdf_bytes(), filename="locked.pdf")
    html = admin_client.get(f"/admin/documents/edit/{document.pk}/").content.decode()
    assert 'data-document-index-status="encrypted"' in html and "Encrypted" in html


def test_a_bad_replacement_says_the_previous_version_is_still_searchable(
    fake_embedder, upload, replace_file, admin_client
):
    document = upload(pdf_bytes(PAGES), filename="handbook.pdf")
    replace_file(document, corrupt_pdf_bytes(), filename="handbook.pdf")
    html = admin_client.get(f"/admin/documents/edit/{document.pk}/").content.decode()
    assert "Unreadable: unreadable: " in html
    assert "The version indexed before is still searchable." in html


def test_re_index_from_the_edit_view_only_enqueues(
    fake_embedder, upload, admin_client, queued, django_capture_on_commit_callbacks
):
    document = upload(pdf_bytes(PAGES), filename="handbook.pdf")
    queued.clear()
    KnowledgeChunk.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/content/documents/{document.pk}/reindex/", {"next": "https://evil.example/"}
        )
    assert response.status_code == 302 and response["Location"] == f"/admin/documents/edit/{document.pk}/"
    assert queued == [document.pk]
    assert not KnowledgeChunk.objects.exists()  # nothing ran in the request


def test_re_index_is_post_only_and_404s_for_a_missing_document(admin_client, fake_embedder, upload):
    document = upload(pdf_bytes(PAGES), filename="handbook.pdf")
    assert admin_client.get(f"/admin/content/documents/{document.pk}/reindex/").status_code == 405
    assert admin_client.post("/admin/content/documents/999999/reindex/").status_code == 404


def test_users_who_cannot_change_the_document_cannot_re_index(
    fake_embedder, upload, client, django_user_model, queued, django_capture_on_commit_callbacks
):
    document = upload(pdf_bytes(PAGES), filename="handbook.pdf")
    queued.clear()
    user = django_user_model.objects.create_user("viewer", password="pw-viewer-1")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/content/documents/{document.pk}/reindex/")
    assert response.status_code in (302, 403)
    assert queued == []


def test_bulk_re_index_from_the_listing_queues_each_document(
    fake_embedder, upload, admin_client, queued, django_capture_on_commit_callbacks
):
    first = upload(pdf_bytes(PAGES), filename="a.pdf")
    second = upload(pdf_bytes(["Another file."]), filename="b.pdf")
    queued.clear()
    listing = admin_client.get("/admin/documents/").content.decode()
    assert "Re-index" in listing
    url = f"/admin/bulk/wagtaildocs/document/reindex/?id={first.pk}&id={second.pk}"
    confirm = admin_client.get(url)
    assert confirm.status_code == 200 and "Re-index for AI search" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"next": "/admin/documents/"})
    assert response.status_code == 302
    assert sorted(queued) == sorted([first.pk, second.pk])
