"""Integration: the real Celery worker process indexes on publish and removes on unpublish, and
two overlapping index runs for one page serialise on the advisory lock without duplicates."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from wagtail.models import Page, Site

from ai_core import providers
from ai_core.rag.models import KnowledgeChunk
from ai_core.rag.selectors import retrieve
from content.indexing import page_index_sync
from tests.conftest import wait_for
from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory

from .conftest import body, ensure_wagtail_initial_data
from .fakes import HashEmbedder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_section(transactional_db):
    """A committed page tree. Earlier transactional tests flush Wagtail's initial data, so rebuild it."""
    root = ensure_wagtail_initial_data()
    home = HomePageFactory(parent=root, slug="home-worker")
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    return ArticleIndexPageFactory(parent=home, title="Guides", slug="guides")


def test_publish_is_indexed_by_the_real_worker_and_unpublish_removes_it(celery_live, live_section):
    page = ArticlePageFactory(
        parent=live_section, title="Refunds", slug="refunds", live=False,
        body=body(("h2", "Annual plans"), ("p", "Annual plans are refunded within 30 days of purchase.")),
    )  # fmt: skip
    page.save_revision().publish()  # autocommit: on_commit fires at once and the task goes to Redis
    chunks = wait_for(
        lambda: list(KnowledgeChunk.objects.filter(page_id=page.pk)),
        timeout=60,
        message=f"worker did not index the page:\n{celery_live.log_path.read_text()[-3000:]}",
    )
    assert chunks[0].embedder_id == providers.embedder().embedder_id  # the worker used the local MiniLM
    assert retrieve("refund annual plan", site=None, locale="en")[0].page_id == page.pk
    Page.objects.get(pk=page.pk).specific.unpublish()
    wait_for(
        lambda: not KnowledgeChunk.objects.filter(page_id=page.pk).exists(),
        timeout=60,
        message=f"worker did not remove the chunks:\n{celery_live.log_path.read_text()[-3000:]}",
    )


def test_two_overlapping_index_runs_wait_for_each_other_and_leave_no_duplicates(settings, live_section):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "EMBEDDERS": {**settings.AI_CORE["EMBEDDERS"], "slow": {"CLASS": "tests.rag.fakes.SlowHashEmbedder"}},
        "DEFAULT_EMBEDDER": "slow",
        "PRICES": {
            **settings.AI_CORE["PRICES"],
            HashEmbedder.model: dict.fromkeys(("input", "output", "cache_read", "cache_write"), "0"),
        },
    }
    providers.reset_providers()
    HashEmbedder.calls = []
    page = ArticlePageFactory(
        parent=live_section, title="Refunds", slug="refunds", intro="",
        body=body(("h2", "A"), ("p", "First rule."), ("h2", "B"), ("p", "Second rule.")),
    )  # fmt: skip
    errors: list[BaseException] = []

    def run() -> None:
        try:
            page_index_sync(page_id=page.pk)
        except BaseException as err:  # surfaced below
            errors.append(err)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    providers.reset_providers()
    assert errors == []
    assert KnowledgeChunk.objects.filter(page_id=page.pk).count() == 2
    # The second run waited for the first to commit, found every chunk stored, embedded nothing.
    assert len(HashEmbedder.calls) == 1
