"""S3 ingest against moto's S3 server over HTTP on 127.0.0.1: new, changed, unchanged and deleted
objects; only public objects; scoped to a site or shared; cited through the public URL; one run
per bucket+prefix at a time. The refusals and settings are in test_ingest_settings.py."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ai_core import providers
from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from ai_core.rag.s3 import s3_ingest
from ai_core.rag.selectors import retrieve
from ai_core.rag.tasks import ingest_s3
from ai_core.resilience.runtime import redis_key
from tests.conftest import wait_for

from ..fakes import HashEmbedder
from .helpers import HTML, MARKDOWN, PUBLIC_BASE, configure, put

pytestmark = pytest.mark.django_db


def test_new_objects_are_ingested_and_retrievable_with_a_source_url(fake_embedder, s3):
    put(s3, "policies/travel.html", HTML)
    put(s3, "policies/expenses.md", MARKDOWN)
    put(s3, "policies/notes.txt", "Receipts must be kept for six years.\n\nScan them into the app.")
    put(s3, "policies/logo.png", "not text")
    report = s3_ingest(bucket="docs", prefix="policies/", site_id=None)
    assert (report.listed, report.created, report.unsupported, report.failed) == (4, 3, 1, [])
    titles = set(KnowledgeDocument.objects.values_list("title", flat=True))
    assert titles == {"Travel policy", "Expenses guide", "notes"}
    result = retrieve("hotel stays capped per night", site=None, locale="en")[0]
    assert result.title == "Travel policy" and result.heading_path == "Hotels"
    # Cited where visitors read it, never at the endpoint the worker reads from.
    assert result.url == f"{PUBLIC_BASE}/policies/travel.html"
    assert result.page_id is None and result.document_id is not None


def test_unchanged_objects_are_skipped_without_embedding(fake_embedder, s3):
    put(s3, "travel.html", HTML)
    s3_ingest(bucket="docs", site_id=None)
    HashEmbedder.calls = []
    report = s3_ingest(bucket="docs", site_id=None)
    assert (report.unchanged, report.created, report.updated) == (1, 0, 0)
    assert HashEmbedder.calls == []


def test_a_changed_object_is_re_embedded_and_the_old_text_is_gone(fake_embedder, s3):
    put(s3, "travel.html", HTML)
    s3_ingest(bucket="docs", site_id=None)
    HashEmbedder.calls = []
    put(s3, "travel.html", HTML.replace("150 pounds", "180 pounds"))
    report = s3_ingest(bucket="docs", site_id=None)
    assert report.updated == 1 and report.embedded == 1
    texts = list(KnowledgeChunk.objects.values_list("text", flat=True))
    assert texts == ["Hotel stays are capped at 180 pounds a night."]


def test_re_uploading_identical_bytes_only_updates_the_etag(fake_embedder, s3):
    put(s3, "travel.html", HTML)
    s3_ingest(bucket="docs", site_id=None)
    KnowledgeDocument.objects.update(etag="stale-etag")  # as if the store re-tagged the same content
    HashEmbedder.calls = []
    report = s3_ingest(bucket="docs", site_id=None)
    assert report.unchanged == 1 and HashEmbedder.calls == []
    assert KnowledgeDocument.objects.get().etag != "stale-etag"


def test_deleted_objects_remove_their_documents_and_chunks(fake_embedder, s3):
    put(s3, "a.md", MARKDOWN)
    put(s3, "b.html", HTML)
    s3_ingest(bucket="docs", site_id=None)
    s3.delete_object(Bucket="docs", Key="a.md")
    report = s3_ingest(bucket="docs", site_id=None)
    assert report.removed == 1
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["b.html"]
    assert not KnowledgeChunk.objects.filter(title="Expenses guide").exists()


def test_a_prefix_run_never_removes_documents_outside_the_prefix(fake_embedder, s3):
    put(s3, "a/one.md", MARKDOWN)
    put(s3, "b/two.html", HTML)
    s3_ingest(bucket="docs", site_id=None)
    s3_ingest(bucket="docs", prefix="a/", site_id=None)
    assert KnowledgeDocument.objects.count() == 2


def test_an_undecodable_object_is_reported_and_the_rest_ingested(fake_embedder, s3, capsys):
    put(s3, "good.md", MARKDOWN)
    s3.put_object(Bucket="docs", Key="bad.txt", Body=b"\xff\xfe\x00 not utf-8 \xff", ACL="public-read")
    call_command("ingest_s3", "--bucket", "docs", "--shared")
    assert "skipped: bad.txt: unreadable: not UTF-8 text" in capsys.readouterr().out
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["good.md"]


def test_private_objects_are_skipped_and_one_made_private_is_removed(fake_embedder, s3):
    put(s3, "public.html", HTML)
    put(s3, "private.md", MARKDOWN, acl="private")
    report = s3_ingest(bucket="docs", site_id=None)
    assert (report.created, report.not_public) == (1, 1)
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["public.html"]
    # The ACL changes, the ETag does not: the next run must still notice.
    s3.put_object_acl(Bucket="docs", Key="public.html", ACL="private")
    report = s3_ingest(bucket="docs", site_id=None)
    assert (report.removed, report.not_public) == (1, 2)
    assert KnowledgeDocument.objects.count() == 0 and KnowledgeChunk.objects.count() == 0
    assert retrieve("hotel stays capped per night", site=None, locale="en") == []


def test_public_by_tag_reads_the_configured_tag_instead_of_the_acl(fake_embedder, s3, settings):
    configure(settings, PUBLIC_BY="tag", PUBLIC_TAG="visibility=public")
    put(s3, "tagged.html", HTML, acl="private", Tagging="visibility=public")
    put(s3, "public-acl-only.md", MARKDOWN)
    put(s3, "wrong-value.txt", "Receipts are kept for six years.", Tagging="visibility=internal")
    report = s3_ingest(bucket="docs", site_id=None)
    assert (report.created, report.not_public) == (1, 2)
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["tagged.html"]


def test_citations_quote_the_key_under_the_public_base(fake_embedder, s3):
    put(s3, "policies/Travel & Hotels.html", HTML)
    s3_ingest(bucket="docs", site_id=None)
    assert KnowledgeDocument.objects.get().url == f"{PUBLIC_BASE}/policies/Travel%20%26%20Hotels.html"
    assert set(KnowledgeChunk.objects.values_list("url", flat=True)) == {
        f"{PUBLIC_BASE}/policies/Travel%20%26%20Hotels.html"
    }


def test_site_by_hostname_or_id_scopes_the_chunks(fake_embedder, s3, sites):
    main, other = sites
    put(s3, "a.md", MARKDOWN)
    call_command("ingest_s3", "--bucket", "docs", "--site", "intranet.example.org")
    assert set(KnowledgeChunk.objects.values_list("site_id", flat=True)) == {other.pk}
    # Re-scoping an unchanged object re-indexes it where it now belongs, without new embeddings.
    HashEmbedder.calls = []
    call_command("ingest_s3", "--bucket", "docs", "--site", str(main.pk))
    assert set(KnowledgeChunk.objects.values_list("site_id", flat=True)) == {main.pk}
    assert KnowledgeDocument.objects.get().site_id == main.pk
    assert HashEmbedder.calls == []
    call_command("ingest_s3", "--bucket", "docs", "--shared")
    assert set(KnowledgeChunk.objects.values_list("site_id", flat=True)) == {None}


class GatedEmbedder(HashEmbedder):
    """Holds the first run inside its embedding call until the test lets it go (no sleeps)."""

    entered = threading.Event()
    release = threading.Event()

    def embed(self, texts):
        GatedEmbedder.entered.set()
        if not GatedEmbedder.release.wait(30):
            raise TimeoutError("the test never released the embedder")
        return super().embed(texts)


@pytest.fixture
def gated_embedder(settings):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "EMBEDDERS": {**settings.AI_CORE["EMBEDDERS"], "gated": {"CLASS": f"{__name__}.GatedEmbedder"}},
        "DEFAULT_EMBEDDER": "gated",
        "PRICES": {
            **settings.AI_CORE["PRICES"],
            HashEmbedder.model: dict.fromkeys(("input", "output", "cache_read", "cache_write"), "0"),
        },
    }
    providers.reset_providers()
    HashEmbedder.calls = []
    GatedEmbedder.entered.clear()
    GatedEmbedder.release.clear()
    yield
    GatedEmbedder.release.set()
    providers.reset_providers()


@pytest.mark.django_db(transaction=True)  # the first run commits from its own thread
def test_a_redelivered_task_while_the_first_run_works_exits_without_doing_the_work(gated_embedder, s3):
    from wagtail.models import Locale

    # A transactional test that ran earlier flushed the locale the migrations created.
    Locale.objects.get_or_create(language_code="en")
    put(s3, "travel.html", HTML)
    put(s3, "expenses.md", MARKDOWN)
    outcome: dict = {}

    # Both threads wait on eager results. Celery's "never call get() within a task" guard is one
    # flag for the whole process, raised while any thread runs an eager task it queued (the first
    # run queues some), so it would refuse the other thread's get() at random: neither is a task.
    def first_run():
        try:
            outcome["first"] = ingest_s3.apply(args=("docs", "", None)).get(disable_sync_subtasks=False)
        finally:
            connection.close()

    worker = threading.Thread(target=first_run)
    worker.start()
    assert GatedEmbedder.entered.wait(20), "the first run never reached the embedder"
    # The broker hands the same message to another worker (visibility timeout) mid-run.
    second = ingest_s3.apply(args=("docs", "", None)).get(disable_sync_subtasks=False)
    assert "another ingest of s3://docs/ is still running" in second["skipped"]
    with pytest.raises(CommandError, match="still running.*Run it again once the other run has finished"):
        call_command("ingest_s3", "--bucket", "docs", "--shared")
    GatedEmbedder.release.set()
    worker.join(30)
    assert not worker.is_alive()
    assert outcome["first"]["created"] == 2 and outcome["first"]["failed"] == []
    assert len(HashEmbedder.calls) == 2  # one embedding call per document, by the first run only
    assert KnowledgeDocument.objects.count() == 2
    # The lease went with the first run: the next run proceeds (and finds nothing to do).
    third = ingest_s3.apply(args=("docs", "", None)).get(disable_sync_subtasks=False)
    assert third["unchanged"] == 2


def test_a_killed_workers_lease_lapses_so_the_redelivery_can_run(fake_embedder, s3, redis_client):
    put(s3, "travel.html", HTML)
    key = redis_key("s3-ingest", "docs", "")
    redis_client.set(key, "a-worker-that-was-sigkilled", px=1500)  # never renewed again
    with pytest.raises(CommandError, match="still running"):
        call_command("ingest_s3", "--bucket", "docs", "--shared")
    assert KnowledgeDocument.objects.count() == 0
    wait_for(lambda: not redis_client.exists(key), timeout=10, message="the dead run's lease never lapsed")
    call_command("ingest_s3", "--bucket", "docs", "--shared")
    assert KnowledgeDocument.objects.count() == 1
    assert not redis_client.exists(key)  # released at the end of the run
