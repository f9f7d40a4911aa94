"""Private (view-restricted) pages and drafts are never retrievable by visitors."""

from __future__ import annotations

import pytest
from wagtail.models import Page, PageViewRestriction

from ai_core.rag.models import KnowledgeChunk, PageIndexState
from ai_core.rag.selectors import retrieve
from content.indexing import page_index_sync
from content.tasks import index_page, unindex_page
from tests.conftest import tasks_in, tasks_routed_to
from tests.content.factories import ArticlePageFactory

from .conftest import body
from .fakes import HashEmbedder

pytestmark = pytest.mark.django_db

SECRET = [("h2", "Salaries"), ("p", "Internal salary bands for the payroll team are confidential.")]


def found(query: str) -> set[int]:
    return {r.page_id for r in retrieve(query, site=None, locale=None, min_score=0)}


def test_restricting_a_section_removes_its_pages_chunks_at_once(fake_embedder, section, publish):
    page = publish(section, title="Pay", slug="pay", items=SECRET)
    assert page.pk in found("salary bands payroll")
    # No on-commit callbacks run here: removal must not wait for a worker.
    PageViewRestriction.objects.create(page=section, restriction_type=PageViewRestriction.LOGIN)
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()
    assert page.pk not in found("salary bands payroll")
    assert PageIndexState.objects.get(page_id=page.pk).status == "private"


def test_a_page_published_under_a_private_section_is_never_indexed(fake_embedder, section, publish):
    PageViewRestriction.objects.create(
        page=section, restriction_type=PageViewRestriction.PASSWORD, password="x"
    )
    page = publish(section, title="Pay", slug="pay", items=SECRET)
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()
    assert page.pk not in found("salary bands payroll")


def test_lifting_the_restriction_indexes_the_pages_again(
    fake_embedder, section, publish, django_capture_on_commit_callbacks
):
    restriction = PageViewRestriction.objects.create(page=section, restriction_type=PageViewRestriction.LOGIN)
    page = publish(section, title="Pay", slug="pay", items=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        restriction.delete()
    assert page.pk in found("salary bands payroll")


def test_making_a_page_private_in_the_admin_privacy_dialog_hides_it(
    fake_embedder, section, publish, admin_client, django_capture_on_commit_callbacks
):
    page = publish(section, title="Pay", slug="pay", items=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/pages/{page.pk}/privacy/", {"restriction_type": "login"})
    assert response.status_code == 200
    assert PageViewRestriction.objects.filter(page=page).exists()
    assert page.pk not in found("salary bands payroll")


def test_an_unpublished_draft_page_is_not_indexed(fake_embedder, section):
    page = ArticlePageFactory(parent=section, title="Draft", slug="draft", body=body(*SECRET), live=False)
    page.save_revision()
    page_index_sync(page_id=page.pk)
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()
    assert PageIndexState.objects.get(page_id=page.pk).status == "unpublished"
    assert Page.objects.get(pk=page.pk).live is False


def test_a_removal_that_finds_the_page_public_again_leaves_the_embedding_to_the_indexing_queue(
    fake_embedder, section, publish, unread_queues
):
    """Restricted (chunks removed at once, the re-check queued on ``removals``), then lifted before
    that re-check ran: the removals worker must not embed the page, whose workers may not even
    hold the embedder's weights. It hands the page to the indexing queue, and nothing is lost."""
    base, client = unread_queues
    page = publish(section, title="Pay", slug="pay", items=SECRET)
    restriction = PageViewRestriction.objects.create(page=section, restriction_type=PageViewRestriction.LOGIN)
    restriction.delete()  # their on-commit tasks are not run: the re-check below is the late one
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()
    HashEmbedder.calls = []
    with tasks_routed_to(base):
        unindex_page.apply(args=[page.pk]).get()
    assert HashEmbedder.calls == []
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()
    assert tasks_in(client, f"{base}.indexing") == [("content.index_page", f"({page.pk},)")]
    assert tasks_in(client, f"{base}.removals") == []
    index_page.apply(args=[page.pk]).get()  # what the indexing worker then runs
    assert page.pk in found("salary bands payroll")
    assert PageIndexState.objects.get(page_id=page.pk).status == "indexed"


def test_a_removal_of_a_page_still_private_removes_and_queues_nothing(
    fake_embedder, section, publish, unread_queues
):
    base, client = unread_queues
    page = publish(section, title="Pay", slug="pay", items=SECRET)
    PageViewRestriction.objects.bulk_create(  # no signal: the chunks are still stored
        [PageViewRestriction(page=section, restriction_type=PageViewRestriction.LOGIN)]
    )
    assert KnowledgeChunk.objects.filter(page_id=page.pk).exists()
    with tasks_routed_to(base):
        unindex_page.apply(args=[page.pk]).get()
    assert not KnowledgeChunk.objects.filter(page_id=page.pk).exists()
    assert PageIndexState.objects.get(page_id=page.pk).status == "private"
    assert tasks_in(client, f"{base}.indexing") == []
