"""``manage.py reindex --documents``: every library document, with a progress bar; unchanged files
skipped, unreadable ones reported (and the command fails), deleted ones cleaned up."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from tests.rag.doc_factories import encrypted_pdf_bytes, pdf_bytes
from tests.rag.fakes import HashEmbedder

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("reindex", "--documents", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_reindex_documents_shows_progress_and_skips_unchanged(fake_embedder, upload):
    upload(pdf_bytes(["Alpha policy text."]), filename="a.pdf")
    upload(pdf_bytes(["Beta policy text.", "Second page."]), filename="b.pdf")
    KnowledgeChunk.objects.all().delete()  # out of step: both need work again
    output = run()
    assert "2/2 documents" in output and "Re-indexed 2 document(s)" in output
    assert KnowledgeChunk.objects.count() == 3
    calls = len(HashEmbedder.calls)
    assert "2 unchanged" in run()
    assert len(HashEmbedder.calls) == calls
    assert "0 unchanged" in run("--force")


def test_reindex_documents_removes_rows_of_deleted_documents(fake_embedder, upload):
    document = upload(pdf_bytes(["Gamma policy text."]), filename="g.pdf")
    # Deleted without its signal (a raw SQL clean-up, a restored database): the index still has it.
    type(document).objects.filter(pk=document.pk)._raw_delete(using="default")
    assert KnowledgeChunk.objects.exists()
    run()
    assert not KnowledgeChunk.objects.exists() and not KnowledgeDocument.objects.exists()


def test_reindex_documents_fails_naming_the_files_it_could_not_read(fake_embedder, upload):
    upload(pdf_bytes(["Fine text."]), filename="fine.pdf")
    locked = upload(encrypted_pdf_bytes(), filename="locked.pdf")
    err = StringIO()
    with pytest.raises(CommandError, match="1 document\\(s\\) could not be indexed"):
        call_command("reindex", "--documents", stdout=StringIO(), stderr=err)
    assert f"document {locked.pk} not indexed: encrypted" in err.getvalue()


def test_documents_and_dry_run_do_not_mix(fake_embedder):
    with pytest.raises(CommandError, match="--dry-run is not available"):
        run("--dry-run")


def test_after_an_embedder_change_the_page_reindex_names_the_command_for_documents(fake_embedder, upload):
    upload(pdf_bytes(["Delta policy text."]), filename="d.pdf")
    KnowledgeChunk.objects.update(embedder_id="previous:model:384")  # indexed before the switch
    out = StringIO()
    call_command("reindex", "--all", "--in-process", stdout=out, stderr=StringIO())
    assert "1 document or S3 chunk(s) were made by another embedder" in out.getvalue()
    assert "reindex --documents" in out.getvalue() and "page chunk(s)" not in out.getvalue()

    assert "0 unchanged" in run()  # the old vectors are not taken as current
    out = StringIO()
    call_command("reindex", "--all", "--in-process", stdout=out, stderr=StringIO())
    assert "another embedder" not in out.getvalue()
