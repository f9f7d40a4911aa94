"""Every way an editor adds a document queues its indexing: the Documents menu's add form, the
bulk (multiple) upload, the chooser's upload tab, and replacing the file in the edit view."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from wagtail.documents import get_document_model

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from tests.rag.doc_factories import pdf_bytes

pytestmark = pytest.mark.django_db

TEXT = ["Holiday policy. Staff book annual leave in the HR portal two weeks ahead."]


def pdf(name: str = "holidays.pdf", text=TEXT) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(text), content_type="application/pdf")


def indexed(title: str) -> KnowledgeDocument:
    document = get_document_model().objects.get(title=title)
    stored = KnowledgeDocument.objects.get(source="wagtail", key=str(document.pk))
    assert stored.status == "indexed" and KnowledgeChunk.objects.filter(document=stored).exists()
    return stored


def test_the_add_form_indexes_the_upload(
    fake_embedder, admin_client, root_collection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/documents/add/", {"title": "Holidays", "file": pdf(), "collection": root_collection.pk}
        )
    assert response.status_code == 302
    indexed("Holidays")


def test_the_bulk_upload_indexes_each_file(
    fake_embedder, admin_client, root_collection, django_capture_on_commit_callbacks
):
    for name in ("holidays.pdf", "expenses.pdf"):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                "/admin/documents/multiple/add/", {"files[]": pdf(name), "collection": root_collection.pk}
            )
        assert response.status_code == 200 and response.json()["success"], response.content
    indexed("holidays.pdf")
    indexed("expenses.pdf")


def test_the_choosers_upload_tab_indexes_the_upload(
    fake_embedder, admin_client, root_collection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("wagtaildocs_chooser:create"),
            {
                "document-chooser-upload-title": "Chosen holidays",
                "document-chooser-upload-file": pdf(),
                "document-chooser-upload-collection": root_collection.pk,
            },
        )
    assert response.status_code == 200, response.content
    indexed("Chosen holidays")


def test_replacing_the_file_in_the_edit_view_re_indexes_it(
    fake_embedder, admin_client, upload, django_capture_on_commit_callbacks
):
    document = upload(pdf_bytes(TEXT), filename="holidays.pdf", title="Holidays")
    new_text = ["Holiday policy. Staff book annual leave in the HR portal one month ahead."]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/documents/edit/{document.pk}/",
            {"title": "Holidays", "file": pdf(text=new_text), "collection": document.collection_id},
        )
    assert response.status_code == 302
    texts = " ".join(
        KnowledgeChunk.objects.filter(document=indexed("Holidays")).values_list("text", flat=True)
    )
    assert "one month ahead" in texts and "two weeks ahead" not in texts
