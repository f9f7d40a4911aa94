"""Library documents are indexed on upload, skipped when unchanged, re-embedded only where a
replacement changed, removed on delete; a file that cannot be read keeps what was indexed."""

from __future__ import annotations

import pytest

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from ai_core.rag.selectors import retrieve
from content.documents.indexing import document_index_sync
from tests.rag.doc_factories import (
    corrupt_pdf_bytes,
    docx_bytes,
    encrypted_pdf_bytes,
    image_only_pdf_bytes,
    oversized_pdf_bytes,
    pdf_bytes,
)
from tests.rag.fakes import HashEmbedder

pytestmark = pytest.mark.django_db

PAGES = [
    "Introduction. These terms govern the Northwind Ledger subscription service.",
    "Payment. Invoices are issued on the first business day of every month.",
    "Termination. Either party may end the agreement with ninety days written notice to the other.",
]


def row(document) -> KnowledgeDocument:
    return KnowledgeDocument.objects.get(source="wagtail", key=str(document.pk))


def found(query: str) -> list:
    return retrieve(query, site=None, locale=None, min_score=0, top_k=20)


def test_an_uploaded_pdf_is_indexed_with_its_pages(fake_embedder, upload):
    document = upload(pdf_bytes(PAGES), filename="terms.pdf", title="Subscription terms")
    stored = row(document)
    assert (stored.status, stored.page_count) == ("indexed", 3)
    assert stored.chunk_count == KnowledgeChunk.objects.filter(document=stored).count() >= 3
    assert stored.url == f"/documents/{document.pk}/terms.pdf"
    hit = next(r for r in found("ninety days written notice termination") if r.document_id == stored.pk)
    assert hit.url == f"/documents/{document.pk}/terms.pdf#page=3"
    assert hit.title == "Subscription terms"


def test_a_docx_is_indexed_with_its_headings(fake_embedder, upload):
    data = docx_bytes([("h1", "Data retention"), ("p", "Backups are kept for thirty five days.")])
    document = upload(data, filename="retention.docx", title="Retention policy")
    stored = row(document)
    assert stored.status == "indexed" and stored.page_count == 0
    chunk = KnowledgeChunk.objects.get(document=stored)
    assert "thirty five days" in chunk.text and "Data retention" in chunk.heading_path


def test_the_same_file_again_is_not_re_embedded(fake_embedder, upload, replace_file):
    document = upload(pdf_bytes(PAGES), filename="terms.pdf", title="Terms")
    calls = len(HashEmbedder.calls)
    outcome = document_index_sync(document_id=document.pk)
    assert outcome.skipped and len(HashEmbedder.calls) == calls
    # Re-uploading identical bytes (the edit view's "replace file") embeds nothing either.
    replace_file(document, pdf_bytes(PAGES), filename="terms.pdf")
    assert len(HashEmbedder.calls) == calls
    assert row(document).status == "indexed"


def test_a_replaced_file_re_embeds_only_the_changed_page(fake_embedder, upload, replace_file):
    document = upload(pdf_bytes(PAGES), filename="terms.pdf", title="Terms")
    before = {c.pk: c.text for c in KnowledgeChunk.objects.filter(document=row(document))}
    changed = [*PAGES[:2], "Termination. Either party may end the agreement with thirty days notice."]
    texts_before = len([t for call in HashEmbedder.calls for t in call])
    replace_file(document, pdf_bytes(changed), filename="terms.pdf")
    embedded = [t for call in HashEmbedder.calls for t in call][texts_before:]
    assert len(embedded) == 1 and "thirty days" in embedded[0]
    after = {c.pk: c.text for c in KnowledgeChunk.objects.filter(document=row(document))}
    kept = set(before) & set(after)
    assert len(kept) == len(before) - 1  # the unchanged pages keep their rows (and citations)
    assert any("thirty days" in text for text in after.values())
    assert not any("ninety days" in text for text in after.values())


def test_deleting_a_document_removes_its_chunks_and_row(
    fake_embedder, upload, django_capture_on_commit_callbacks
):
    document = upload(pdf_bytes(PAGES), filename="terms.pdf")
    stored = row(document)
    with django_capture_on_commit_callbacks(execute=True):
        document.delete()
    assert not KnowledgeChunk.objects.filter(document_id=stored.pk).exists()
    assert not KnowledgeDocument.objects.filter(pk=stored.pk).exists()
    assert not [r for r in found("ninety days written notice") if r.document_id == stored.pk]


@pytest.mark.parametrize(
    ("data", "filename", "status", "message"),
    [
        (lambda: encrypted_pdf_bytes(), "locked.pdf", "encrypted", "encrypted"),
        (lambda: image_only_pdf_bytes(), "scan.pdf", "no extractable text", "no extractable text"),
        (lambda: corrupt_pdf_bytes(), "broken.pdf", "unreadable", "unreadable: "),
    ],
)
def test_an_unreadable_file_gets_a_status_and_no_chunks(
    fake_embedder, upload, data, filename, status, message
):
    document = upload(data(), filename=filename)
    stored = row(document)
    assert stored.status == status
    assert stored.status_message.startswith(message)
    assert not KnowledgeChunk.objects.filter(document=stored).exists()


def test_an_oversized_file_is_not_read(fake_embedder, upload, settings):
    settings.AI_CORE = {**settings.AI_CORE, "DOCUMENTS": {"MAX_BYTES": 50_000}}
    document = upload(oversized_pdf_bytes(60_000), filename="huge.pdf")
    stored = row(document)
    assert stored.status == "too large" and stored.status_message.startswith("too large:")
    assert HashEmbedder.calls == []


def test_a_bad_replacement_keeps_what_was_indexed(fake_embedder, upload, replace_file):
    document = upload(pdf_bytes(PAGES), filename="terms.pdf")
    chunk_ids = set(KnowledgeChunk.objects.filter(document=row(document)).values_list("pk", flat=True))
    replace_file(document, corrupt_pdf_bytes(), filename="terms-v2.pdf")
    stored = row(document)
    assert stored.status == "unreadable" and stored.status_message.startswith("unreadable: ")
    assert set(KnowledgeChunk.objects.filter(document=stored).values_list("pk", flat=True)) == chunk_ids
    assert any(r.document_id == stored.pk for r in found("ninety days written notice"))


def test_markdown_and_text_files_are_indexed_and_cited_without_a_page(fake_embedder, upload):
    markdown = upload(b"# Returns\n\nParcels are returned within fourteen days.\n", filename="returns.md")
    text = upload(b"Opening hours.\n\nThe help desk opens at eight.\n", filename="hours.txt")
    for document, words in ((markdown, "fourteen days"), (text, "opens at eight")):
        stored = row(document)
        assert stored.status == "indexed" and stored.page_count == 0
        hit = next(r for r in found(words) if r.document_id == stored.pk)
        assert hit.url == document.url and "#page=" not in hit.url and hit.page is None


def test_an_unsupported_file_type_is_recorded_as_such(fake_embedder, upload):
    document = upload(b"PK\x03\x04 not really a spreadsheet", filename="figures.xlsx")
    stored = row(document)
    assert stored.status == "unsupported" and stored.status_message.startswith("unsupported file type: .xlsx")
    assert HashEmbedder.calls == []
