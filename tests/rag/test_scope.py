"""Retrieval is scoped to the site and locale a question was asked in, and re-checks at query time
that every page it is about to cite is still live, public and on that site. The HTTP version of
these promises, against the running stack, is in ``test_scope_http.py``."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Locale, Page, PageViewRestriction, Site

from ai_core.models import AIRequest
from ai_core.rag.context import rag_answer_context
from ai_core.rag.models import KnowledgeChunk, PageIndexState
from ai_core.rag.selectors import retrieve
from content.indexing import page_index_sync
from content.visibility import visible_page_ids
from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory

from .conftest import body

pytestmark = pytest.mark.django_db

PAY = [("h2", "Salaries"), ("p", "Internal salary bands for the payroll team are reviewed every March.")]
TIDE = [("h2", "Tides"), ("p", "Harbour tide tables for the marina are printed every Monday.")]


@pytest.fixture
def second_site(home):
    """Another Site with its own tree, beside the default site (``home``)."""
    other_home = HomePageFactory(parent=home.get_parent(), title="Marina", slug="marina-home")
    site = Site.objects.create(hostname="marina.test", port=80, root_page=other_home, site_name="Marina")
    return site, ArticleIndexPageFactory(parent=other_home, title="Harbour", slug="harbour")


def asked(question: str, *, site_id, locale: str = "en", page_id=None) -> list[int]:
    """Page ids of the sources a question gets, as the worker builds them for the model."""
    request = AIRequest.objects.create(
        prompt_key="rag_answer", prompt_version=1, payload={"question": question},
        site_id=site_id, locale=locale, page_id=page_id,
    )  # fmt: skip
    sources = rag_answer_context(request=request, spec=None).sources
    return [KnowledgeChunk.objects.get(pk=int(s.chunk_id)).page_id for s in sources]


def test_a_question_only_finds_pages_of_the_site_it_was_asked_on(
    fake_embedder, section, second_site, publish
):
    site, harbour = second_site
    pay = publish(section, title="Pay", slug="pay", items=PAY)
    tides = publish(harbour, title="Tides", slug="tides", items=TIDE)
    default_id = Site.objects.get(is_default_site=True).pk
    assert asked("harbour tide tables marina", site_id=site.pk) == [tides.pk]
    assert tides.pk not in asked("harbour tide tables marina", site_id=default_id)
    assert pay.pk in asked("salary bands payroll", site_id=default_id)
    assert pay.pk not in asked("salary bands payroll", site_id=site.pk)
    # Asked outside any site: shared documents only, never every site's pages.
    assert asked("salary bands payroll", site_id=None) == []


def test_a_page_made_private_without_its_chunks_removed_is_never_returned(fake_embedder, section, publish):
    """A removal that lost its race: the chunks are still stored, the query-time check drops them
    and the next allowed chunk takes the freed place."""
    pay = publish(section, title="Pay", slug="pay", items=PAY)
    other = publish(section, title="Pay rises", slug="rises", items=[("p", "Salary bands rise each year.")])
    site_id = pay.get_site().pk
    assert pay.pk in asked("salary bands payroll", site_id=site_id)
    # bulk_create sends no post_save: the receivers that remove chunks never run.
    PageViewRestriction.objects.bulk_create([PageViewRestriction(page=section, restriction_type="login")])
    assert KnowledgeChunk.objects.filter(page_id=pay.pk).exists()
    assert asked("salary bands payroll", site_id=site_id) == []
    assert retrieve("salary bands payroll", site=None, locale=None, min_score=0) == []  # section-wide
    PageViewRestriction.objects.all().delete()
    Page.objects.filter(pk=pay.pk).update(live=False)  # unpublished behind the index's back
    assert [r.page_id for r in retrieve("salary bands", site=site_id, locale="en", min_score=0)] == [other.pk]


def test_the_access_check_is_one_query_for_any_number_of_pages(fake_embedder, section, second_site, publish):
    site, harbour = second_site
    pages = [publish(section, title=f"Pay {n}", slug=f"pay-{n}", items=PAY) for n in range(5)]
    tides = publish(harbour, title="Tides", slug="tides", items=TIDE)
    PageViewRestriction.objects.bulk_create([PageViewRestriction(page=pages[0], restriction_type="login")])
    Page.objects.filter(pk=pages[1].pk).update(live=False)
    ids = [p.pk for p in pages] + [tides.pk]
    default_id = pages[0].get_site().pk
    with CaptureQueriesContext(connection) as queries:
        visible = visible_page_ids(page_ids=ids, site_id=default_id)
    assert len(queries) == 1
    assert visible == {p.pk for p in pages[2:]}
    assert visible_page_ids(page_ids=ids, site_id=site.pk) == {tides.pk}
    assert visible_page_ids(page_ids=ids, site_id=None) == {p.pk for p in pages[2:]} | {tides.pk}


def test_a_locale_with_no_match_falls_back_to_the_default_locale(fake_embedder, section, publish, settings):
    french = Locale.objects.get_or_create(language_code="fr")[0]
    pay = publish(section, title="Pay", slug="pay", items=PAY)
    site_id = pay.get_site().pk
    assert asked("salary bands payroll", site_id=site_id, locale="fr") == [pay.pk]
    settings.AI_CORE = {
        **settings.AI_CORE,
        "RETRIEVAL": {**settings.AI_CORE["RETRIEVAL"], "LOCALE_FALLBACK": False},
    }
    assert asked("salary bands payroll", site_id=site_id, locale="fr") == []
    # With a French page to find, French questions get it and English ones do not.
    paie = publish(section, title="Paie", slug="paie", items=PAY, locale=french)
    assert asked("salary bands payroll", site_id=site_id, locale="fr") == [paie.pk]
    assert paie.pk not in asked("salary bands payroll", site_id=site_id, locale="en")


def test_a_page_in_no_sites_tree_is_not_indexed_and_loses_its_chunks_when_moved_there(
    fake_embedder, home, section, publish, django_capture_on_commit_callbacks
):
    orphan_parent = ArticleIndexPageFactory(parent=home.get_parent(), title="Loose", slug="loose")
    loose = ArticlePageFactory(parent=orphan_parent, title="Loose", slug="loose-page", body=body(*PAY))
    loose.save_revision().publish()
    page_index_sync(page_id=loose.pk)
    assert not KnowledgeChunk.objects.filter(page_id=loose.pk).exists()
    assert PageIndexState.objects.get(page_id=loose.pk).status == "unroutable"
    pay = publish(section, title="Pay", slug="pay", items=PAY)
    assert KnowledgeChunk.objects.filter(page_id=pay.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        Page.objects.get(pk=pay.pk).move(orphan_parent, pos="last-child")
    assert not KnowledgeChunk.objects.filter(page_id=pay.pk).exists()
    assert PageIndexState.objects.get(page_id=pay.pk).status == "unroutable"


def test_the_ask_api_records_the_site_of_the_host_and_refuses_another_sites_page(
    fake_embedder, client, section, second_site, publish
):
    site, harbour = second_site
    tides = publish(harbour, title="Tides", slug="tides", items=TIDE)
    response = client.post(
        "/api/ai/ask/", {"question": "When are tide tables printed?"}, content_type="application/json",
        HTTP_HOST="marina.test",
    )  # fmt: skip
    assert response.status_code == 202, response.content
    request = AIRequest.objects.get(pk=response.json()["id"])
    assert (request.site_id, request.locale) == (site.pk, "en")
    response = client.post(
        "/api/ai/ask/", {"question": "When are tide tables printed?", "page_id": tides.pk},
        content_type="application/json", HTTP_HOST="localhost",
    )  # fmt: skip
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "No such page on this site."
    response = client.post(
        "/ask/", {"question": "Tides?", "scope": "page", "page_id": str(tides.pk)}, HTTP_HOST="localhost"
    )
    assert response.status_code == 404 and b"That page cannot be searched." in response.content


def test_a_page_access_check_that_cannot_be_imported_fails_manage_py_check(settings):
    from ai_core.rag.checks import retrieval_settings_check

    assert retrieval_settings_check() == []
    retrieval = settings.AI_CORE["RETRIEVAL"]
    settings.AI_CORE = {**settings.AI_CORE, "RETRIEVAL": {**retrieval, "PAGE_ACCESS_CHECK": "content.nope.f"}}
    (error,) = retrieval_settings_check()
    assert error.id == "rag.E002" and "PAGE_ACCESS_CHECK" in error.msg
    settings.AI_CORE = {**settings.AI_CORE, "RETRIEVAL": {**retrieval, "LOCALE_FALLBACK": "yes"}}
    (error,) = retrieval_settings_check()
    assert error.id == "rag.E001" and "LOCALE_FALLBACK" in error.msg


@pytest.mark.parametrize(
    ("where", "field"),
    [({"site_id": "1"}, "site_id"), ({"site_id": True}, "site_id"), ({"locale": "x" * 21}, "")],
)
def test_submit_refuses_a_site_or_locale_that_is_not_a_plain_id_or_code(where, field):
    from ai_core.services.requests import RequestRejected, ai_request_submit

    with pytest.raises(RequestRejected) as rejected:
        ai_request_submit(prompt_key="rag_answer", payload={"question": "Refunds?"}, session_key="s", **where)
    assert rejected.value.status == 400 and rejected.value.fields == ([field] if field else [])
    assert not AIRequest.objects.exists()


def test_deleting_a_site_removes_its_pages_chunks_and_a_new_site_brings_them_back(
    fake_embedder, second_site, publish, django_capture_on_commit_callbacks
):
    site, harbour = second_site
    tides = publish(harbour, title="Tides", slug="tides", items=TIDE)
    assert asked("harbour tide tables marina", site_id=site.pk) == [tides.pk]
    root_page = site.root_page
    with django_capture_on_commit_callbacks(execute=True):
        site.delete()  # the marina tree is now routable in no site
    assert not KnowledgeChunk.objects.filter(page_id=tides.pk).exists()
    assert PageIndexState.objects.get(page_id=tides.pk).status == "unroutable"
    with django_capture_on_commit_callbacks(execute=True):
        reborn = Site.objects.create(
            hostname="harbour.test", port=80, root_page=root_page, site_name="Harbour"
        )
    assert asked("harbour tide tables marina", site_id=reborn.pk) == [tides.pk]
    chunk = KnowledgeChunk.objects.filter(page_id=tides.pk).first()
    assert chunk.site_id == reborn.pk
