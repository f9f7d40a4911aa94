"""S3 ingest of PDF and Word objects (made by tests/rag/doc_factories.py) against moto's S3 server:
read with the document library's extractor, cited through the public URL with ``#page=N``, and
every file that cannot be read skipped with its reason while what was indexed before stays."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from ai_core.rag.s3 import s3_client, s3_ingest
from ai_core.rag.selectors import retrieve

from .. import doc_factories as files
from .helpers import MARKDOWN, PUBLIC_BASE, configure

pytestmark = pytest.mark.django_db

HANDBOOK = [
    "Welcome to the staff handbook. It covers leave, expenses and conduct.",
    "Annual leave is twenty-eight days a year including bank holidays.",
    "Expense claims must be filed within sixty days with a receipt attached.",
]


def put_bytes(client, key: str, body: bytes, **extra) -> None:
    client.put_object(Bucket="docs", Key=key, Body=body, ACL="public-read", **extra)


def test_pdf_passages_are_cited_to_their_page_under_the_public_url(fake_embedder, s3):
    put_bytes(s3, "hr/handbook.pdf", files.pdf_bytes(HANDBOOK, title="Staff handbook"))
    report = s3_ingest(bucket="docs", site_id=None)
    assert (report.created, report.skipped, report.failed) == (1, [], [])
    doc = KnowledgeDocument.objects.get()
    assert (doc.title, doc.content_type, doc.url) == (
        "Staff handbook",
        "pdf",
        f"{PUBLIC_BASE}/hr/handbook.pdf",
    )
    assert (doc.chunk_count, doc.page_count, doc.status) == (3, 3, "indexed")  # a chunk per page
    hit = retrieve("expense claims filed within sixty days receipt", site=None, locale="en")[0]
    assert hit.url == f"{PUBLIC_BASE}/hr/handbook.pdf#page=3"
    assert "sixty days" in hit.text


def test_word_objects_keep_their_headings_and_link_to_the_file(fake_embedder, s3):
    data = files.docx_bytes(
        [("h1", "Notice periods"), ("p", "Staff on probation give one week of notice.")], title="Contract"
    )
    put_bytes(s3, "hr/contract.docx", data)
    assert s3_ingest(bucket="docs", site_id=None).created == 1
    hit = retrieve("notice on probation one week", site=None, locale="en")[0]
    assert (hit.title, hit.heading_path) == ("Contract", "Notice periods")
    assert hit.url == f"{PUBLIC_BASE}/hr/contract.docx"


def test_unreadable_objects_are_skipped_with_their_reason_and_the_rest_ingested(fake_embedder, s3):
    put_bytes(s3, "a/locked.pdf", files.encrypted_pdf_bytes())
    put_bytes(s3, "a/scan.pdf", files.image_only_pdf_bytes())
    put_bytes(s3, "a/cut-off.pdf", files.corrupt_pdf_bytes())
    put_bytes(s3, "a/broken.docx", files.corrupt_docx_bytes())
    put_bytes(s3, "a/notes.txt", b"\xff\xfe\x00 not utf-8 \xff")
    put_bytes(s3, "a/guide.md", MARKDOWN.encode())
    report = s3_ingest(bucket="docs", site_id=None)
    reasons = dict(report.skipped)
    assert reasons["a/locked.pdf"] == "encrypted"
    assert reasons["a/scan.pdf"] == "no extractable text"
    assert reasons["a/cut-off.pdf"].startswith("unreadable: ")
    assert reasons["a/broken.docx"].startswith("unreadable: damaged Word file")
    assert reasons["a/notes.txt"] == "unreadable: not UTF-8 text"
    assert (report.created, report.failed) == (1, [])
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["a/guide.md"]


def test_the_command_lists_skipped_objects_and_succeeds(fake_embedder, s3, capsys):
    put_bytes(s3, "locked.pdf", files.encrypted_pdf_bytes())
    put_bytes(s3, "guide.md", MARKDOWN.encode())
    call_command("ingest_s3", "--bucket", "docs", "--shared")
    out = capsys.readouterr().out
    assert "1 new" in out and "1 skipped" in out
    assert "skipped: locked.pdf: encrypted" in out and "Done." in out


def test_a_replacement_that_cannot_be_read_keeps_what_was_indexed(fake_embedder, s3):
    put_bytes(s3, "handbook.pdf", files.pdf_bytes(HANDBOOK))
    s3_ingest(bucket="docs", site_id=None)
    before = set(KnowledgeChunk.objects.values_list("id", flat=True))
    put_bytes(s3, "handbook.pdf", files.encrypted_pdf_bytes("New handbook, password protected."))
    report = s3_ingest(bucket="docs", site_id=None)
    assert report.skipped == [("handbook.pdf", "encrypted")]
    assert (report.updated, report.removed) == (0, 0)
    assert set(KnowledgeChunk.objects.values_list("id", flat=True)) == before
    doc = KnowledgeDocument.objects.get()
    assert (doc.status, doc.status_message, doc.page_count) == ("encrypted", "encrypted", 3)
    assert retrieve("annual leave twenty-eight days", site=None, locale="en")[0].url.endswith("#page=2")
    # Still reported on the next run (the object is read again, not marked unchanged).
    assert s3_ingest(bucket="docs", site_id=None).skipped == [("handbook.pdf", "encrypted")]
    # Readable again: indexed from the new text, and the status says so.
    put_bytes(s3, "handbook.pdf", files.pdf_bytes(["Annual leave is thirty days a year."]))
    assert s3_ingest(bucket="docs", site_id=None).updated == 1
    doc = KnowledgeDocument.objects.get()
    assert (doc.status, doc.status_message, doc.page_count, doc.chunk_count) == ("indexed", "", 1, 1)


class CountingClient:
    """The real client, counting downloads, to show an oversized object is never fetched."""

    def __init__(self, client) -> None:
        self.client, self.downloads = client, []

    def get_object(self, **kwargs):
        self.downloads.append(kwargs["Key"])
        return self.client.get_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_an_object_over_the_size_limit_is_skipped_without_downloading_it(fake_embedder, s3, settings):
    settings.AI_CORE = {**settings.AI_CORE, "DOCUMENTS": {"MAX_BYTES": 50 * 1024}}
    put_bytes(s3, "big.pdf", files.oversized_pdf_bytes(60 * 1024))
    put_bytes(s3, "small.pdf", files.pdf_bytes(["Small enough to read."]))
    client = CountingClient(s3_client())
    report = s3_ingest(bucket="docs", site_id=None, client=client)
    assert report.skipped == [("big.pdf", "too large: 60.0 kB > 50.0 kB")]
    assert client.downloads == ["small.pdf"]
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["small.pdf"]


class FailingClient(CountingClient):
    def get_object(self, **kwargs):
        from botocore.exceptions import ClientError

        if kwargs["Key"] == "gone.pdf":
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
        return super().get_object(**kwargs)


def test_an_object_that_cannot_be_fetched_fails_the_command_and_the_rest_is_ingested(
    fake_embedder, s3, monkeypatch
):
    put_bytes(s3, "gone.pdf", files.pdf_bytes(["Deleted between listing and download."]))
    put_bytes(s3, "guide.md", MARKDOWN.encode())
    monkeypatch.setattr("ai_core.rag.s3.s3_client", lambda: FailingClient(s3_client()))
    with pytest.raises(CommandError, match="1 object"):
        call_command("ingest_s3", "--bucket", "docs", "--shared")
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["guide.md"]


def test_only_public_pdfs_are_read(fake_embedder, s3, settings):
    configure(settings, PUBLIC_BY="acl")
    s3.put_object(Bucket="docs", Key="internal.pdf", Body=files.pdf_bytes(["Board minutes."]), ACL="private")
    report = s3_ingest(bucket="docs", site_id=None)
    assert (report.not_public, report.created) == (1, 0)
    assert KnowledgeChunk.objects.count() == 0


def test_a_new_extractor_version_re_reads_unchanged_objects_without_re_embedding(
    fake_embedder, s3, monkeypatch
):
    from ai_core.rag import extract

    from ..fakes import HashEmbedder

    put_bytes(s3, "handbook.pdf", files.pdf_bytes(HANDBOOK))
    s3_ingest(bucket="docs", site_id=None)
    assert s3_ingest(bucket="docs", site_id=None).unchanged == 1
    monkeypatch.setattr(extract, "EXTRACTOR_VERSION", extract.EXTRACTOR_VERSION + 1)
    HashEmbedder.calls = []
    report = s3_ingest(bucket="docs", site_id=None)
    assert (report.updated, report.embedded, report.reused) == (1, 0, 3)
    assert HashEmbedder.calls == []
    assert s3_ingest(bucket="docs", site_id=None).unchanged == 1
