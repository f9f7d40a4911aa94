"""S3 ingest against moto's S3 server over HTTP on 127.0.0.1: new, changed, unchanged, deleted."""

from __future__ import annotations

import boto3
import pytest
from django.core.management import CommandError, call_command
from moto.server import ThreadedMotoServer

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from ai_core.rag.s3 import s3_ingest
from ai_core.rag.selectors import retrieve

from .fakes import HashEmbedder

pytestmark = pytest.mark.django_db

HTML = "<html><head><title>Travel policy</title></head><body><h2>Hotels</h2><p>Hotel stays are capped at 150 pounds a night.</p></body></html>"
MARKDOWN = "# Expenses guide\n\n## Meals\n\nMeal allowance is 25 pounds per day while travelling.\n"


@pytest.fixture(scope="module")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """Credentials and endpoint through the environment, as in production."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    client = boto3.client("s3")
    client.create_bucket(Bucket="docs")
    yield client
    for obj in client.list_objects_v2(Bucket="docs").get("Contents", []):
        client.delete_object(Bucket="docs", Key=obj["Key"])
    client.delete_bucket(Bucket="docs")


def put(client, key: str, body: str) -> None:
    client.put_object(Bucket="docs", Key=key, Body=body.encode())


def test_new_objects_are_ingested_and_retrievable_with_a_source_url(fake_embedder, s3, moto_endpoint):
    put(s3, "policies/travel.html", HTML)
    put(s3, "policies/expenses.md", MARKDOWN)
    put(s3, "policies/notes.txt", "Receipts must be kept for six years.\n\nScan them into the app.")
    put(s3, "policies/logo.png", "not text")
    report = s3_ingest(bucket="docs", prefix="policies/")
    assert (report.listed, report.created, report.unsupported, report.failed) == (4, 3, 1, [])
    titles = set(KnowledgeDocument.objects.values_list("title", flat=True))
    assert titles == {"Travel policy", "Expenses guide", "notes"}
    result = retrieve("hotel stays capped per night", site=None, locale="en")[0]
    assert result.title == "Travel policy" and result.heading_path == "Hotels"
    assert result.url == f"{moto_endpoint}/docs/policies/travel.html"
    assert result.page_id is None and result.document_id is not None


def test_unchanged_objects_are_skipped_without_embedding(fake_embedder, s3):
    put(s3, "travel.html", HTML)
    s3_ingest(bucket="docs")
    HashEmbedder.calls = []
    report = s3_ingest(bucket="docs")
    assert (report.unchanged, report.created, report.updated) == (1, 0, 0)
    assert HashEmbedder.calls == []


def test_a_changed_object_is_re_embedded_and_the_old_text_is_gone(fake_embedder, s3):
    put(s3, "travel.html", HTML)
    s3_ingest(bucket="docs")
    HashEmbedder.calls = []
    put(s3, "travel.html", HTML.replace("150 pounds", "180 pounds"))
    report = s3_ingest(bucket="docs")
    assert report.updated == 1 and report.embedded == 1
    texts = list(KnowledgeChunk.objects.values_list("text", flat=True))
    assert texts == ["Hotel stays are capped at 180 pounds a night."]


def test_re_uploading_identical_bytes_only_updates_the_etag(fake_embedder, s3):
    put(s3, "travel.html", HTML)
    s3_ingest(bucket="docs")
    KnowledgeDocument.objects.update(etag="stale-etag")  # as if the store re-tagged the same content
    HashEmbedder.calls = []
    report = s3_ingest(bucket="docs")
    assert report.unchanged == 1 and HashEmbedder.calls == []
    assert KnowledgeDocument.objects.get().etag != "stale-etag"


def test_deleted_objects_remove_their_documents_and_chunks(fake_embedder, s3):
    put(s3, "a.md", MARKDOWN)
    put(s3, "b.html", HTML)
    s3_ingest(bucket="docs")
    s3.delete_object(Bucket="docs", Key="a.md")
    report = s3_ingest(bucket="docs")
    assert report.removed == 1
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["b.html"]
    assert not KnowledgeChunk.objects.filter(title="Expenses guide").exists()


def test_a_prefix_run_never_removes_documents_outside_the_prefix(fake_embedder, s3):
    put(s3, "a/one.md", MARKDOWN)
    put(s3, "b/two.html", HTML)
    s3_ingest(bucket="docs")
    s3_ingest(bucket="docs", prefix="a/")
    assert KnowledgeDocument.objects.count() == 2


def test_a_missing_bucket_is_a_command_error_and_nothing_is_removed(fake_embedder, s3):
    put(s3, "a.md", MARKDOWN)
    call_command("ingest_s3", "--bucket", "docs")
    with pytest.raises(CommandError, match="NoSuchBucket"):
        call_command("ingest_s3", "--bucket", "no-such-bucket")
    assert KnowledgeDocument.objects.count() == 1


def test_an_undecodable_object_is_reported_and_the_rest_ingested(fake_embedder, s3):
    put(s3, "good.md", MARKDOWN)
    s3.put_object(Bucket="docs", Key="bad.txt", Body=b"\xff\xfe\x00 not utf-8 \xff")
    with pytest.raises(CommandError, match="1 object"):
        call_command("ingest_s3", "--bucket", "docs")
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["good.md"]
