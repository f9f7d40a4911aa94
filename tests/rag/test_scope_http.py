"""Over HTTP, as a visitor: a question is answered only from the site serving the visitor's host,
in the locale it was asked in, and never from a page the visitor may no longer read.

The running stack: uvicorn and a Celery worker (retrieval runs there, with the local MiniLM
embedder) generating through the fake Anthropic server, whose request log shows exactly what the
model was given. Pages are indexed in this process with the same embedder, on publish.
"""

from __future__ import annotations

import httpx
import pytest
from wagtail.models import PageViewRestriction, Site

from ai_core.models import AIRequest
from ai_core.rag.models import KnowledgeChunk, PageIndexState
from tests.conftest import live_stack, wait_for
from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory

from .conftest import body, ensure_wagtail_initial_data

pytestmark = pytest.mark.django_db(transaction=True)

FINISHED = {*AIRequest.TERMINAL, AIRequest.Status.AWAITING_REVIEW}
PAYROLL = "Salary bands for the payroll team are reviewed every March by the finance director."
TIDES = "Harbour tide tables for the marina are printed every Monday at the harbour office."
ROTA = "The crew rota for the sailing club is posted on the clubhouse door every Friday."
ASK_PAYROLL = "When are the salary bands for the payroll team reviewed?"
ASK_TIDES = "When are the harbour tide tables for the marina printed?"
ASK_ROTA = "When is the crew rota for the sailing club posted?"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    with live_stack(
        "scope",
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_FALLBACK_TO_LOCAL="false",
        AI_ANON_RATE_LIMIT_REQUESTS="1000",  # one address asks every question of this module
        # The fake model echoes its prompt, which no grounding check would pass; held answers
        # would go through the review queue, which is not what these tests are about.
        AI_REVIEW_WEAK_GROUNDING="false",
    ) as web:
        yield web


@pytest.fixture
def tree(transactional_db):
    """Two Wagtail sites with their own trees: the default one on ``localhost`` and a marina site."""
    root = ensure_wagtail_initial_data()
    home = HomePageFactory(parent=root, slug="home-scope")
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    marina_home = HomePageFactory(parent=root, title="Marina", slug="marina-home")
    Site.objects.create(hostname="marina.test", port=80, root_page=marina_home, site_name="Marina")
    return {
        "guides": ArticleIndexPageFactory(parent=home, title="Guides", slug="guides"),
        "harbour": ArticleIndexPageFactory(parent=marina_home, title="Harbour", slug="harbour"),
        "loose": ArticleIndexPageFactory(parent=root, title="Loose", slug="loose"),  # in no site
    }


def publish(parent, *, slug: str, text: str, **fields):
    """Publish an article; the index task runs inline, on commit (eager Celery in this process)."""
    page = ArticlePageFactory(
        parent=parent, title=slug.title(), slug=slug, intro="", body=body(("p", text)), **fields
    )
    page.save_revision().publish()
    return page


class Visitor:
    """An anonymous browser on one host name, talking to the real web server."""

    def __init__(self, stack, host: str) -> None:
        self.http = httpx.Client(base_url=stack.url, headers={"Host": host}, timeout=30)
        self.csrf = self.http.get("/api/ai/csrf/").json()["csrf_token"]

    def post_ask(self, question: str, **extra) -> httpx.Response:
        return self.http.post(
            "/api/ai/ask/", json={"question": question, **extra}, headers={"X-CSRFToken": self.csrf}
        )

    def ask(self, question: str, **extra) -> AIRequest:
        """Ask, poll until the answer is final, return the stored request."""
        response = self.post_ask(question, **extra)
        assert response.status_code == 202, response.text
        poll_url = response.json()["poll_url"]
        final = wait_for(
            lambda: (body := self.http.get(poll_url).json())["status"] in FINISHED and body,
            timeout=90,
            message="the question was never answered",
        )
        request = AIRequest.objects.get(pk=final["id"])
        assert final["status"] == AIRequest.Status.DONE, (final, request.error)
        assert final["citations"] == request.citations  # what the visitor is shown
        return request

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def visitors(stack):
    opened: list[Visitor] = []

    def open_on(host: str) -> Visitor:
        opened.append(Visitor(stack, host))
        return opened[-1]

    yield open_on
    for visitor in opened:
        visitor.close()


def cited_pages(request: AIRequest) -> set[int]:
    ids = [int(c["chunk_id"]) for c in request.citations]
    return set(KnowledgeChunk.objects.filter(pk__in=ids).values_list("page_id", flat=True))


def model_saw(fake_provider, question: str) -> str:
    """Everything the fake model was sent for this question (system prompt and sources included)."""
    bodies = [
        r["body"] for r in fake_provider.requests_for(path="/v1/messages") if question in str(r["body"])
    ]
    assert bodies, "the model was never asked"
    return " ".join(str(b) for b in bodies)


def test_a_visitor_of_one_site_never_gets_another_sites_pages(stack, tree, visitors, fake_provider):
    payroll = publish(tree["guides"], slug="payroll", text=PAYROLL)
    tides = publish(tree["harbour"], slug="tides", text=TIDES)
    default, marina = visitors("localhost"), visitors("marina.test")

    assert cited_pages(marina.ask(ASK_TIDES)) == {tides.pk}  # the marina's own page is found
    assert cited_pages(default.ask(ASK_PAYROLL)) == {payroll.pk}
    fake_provider.reset()  # from here on, the request log holds only the cross-site questions
    on_default = default.ask(ASK_TIDES)
    assert (on_default.site_id, on_default.locale) == (Site.objects.get(is_default_site=True).pk, "en")
    assert tides.pk not in cited_pages(on_default)
    assert "printed every Monday" not in model_saw(fake_provider, ASK_TIDES)
    on_marina = marina.ask(ASK_PAYROLL)
    assert payroll.pk not in cited_pages(on_marina)
    assert "finance director" not in model_saw(fake_provider, ASK_PAYROLL)
    # Naming the other site's page does not help: it does not exist on this site.
    refused = default.post_ask(ASK_TIDES, page_id=tides.pk)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "unknown_page"


def test_a_page_made_private_after_indexing_is_never_cited_even_with_its_chunks_left(
    stack, tree, visitors, fake_provider
):
    payroll = publish(tree["guides"], slug="payroll", text=PAYROLL)
    visitor = visitors("localhost")
    assert cited_pages(visitor.ask(ASK_PAYROLL)) == {payroll.pk}
    # The restriction lands without its receivers (bulk_create sends no post_save): a removal that
    # lost its race, so the chunks stay in the index. Only the query-time check stands between.
    PageViewRestriction.objects.bulk_create([PageViewRestriction(page=payroll, restriction_type="login")])
    assert KnowledgeChunk.objects.filter(page_id=payroll.pk).exists()
    fake_provider.reset()
    after = visitor.ask(ASK_PAYROLL + " Again?")
    assert after.citations == []
    assert "finance director" not in model_saw(fake_provider, ASK_PAYROLL + " Again?")
    assert KnowledgeChunk.objects.filter(page_id=payroll.pk).exists()  # still there: it was the check


def test_questions_are_scoped_to_their_locale_and_a_page_keeps_its_own(stack, tree, visitors):
    from wagtail.models import Locale

    french = Locale.objects.get_or_create(language_code="fr")[0]
    rota = publish(tree["guides"], slug="rota", text=ROTA, locale=french)
    visitor = visitors("localhost")
    anywhere = visitor.ask(ASK_ROTA)  # an English visitor: English chunks, then the default (English)
    assert anywhere.locale == "en" and rota.pk not in cited_pages(anywhere)
    on_page = visitor.ask(ASK_ROTA, page_id=rota.pk)  # asked on the French page: its locale
    assert on_page.locale == "fr" and cited_pages(on_page) == {rota.pk}


def test_a_page_routable_in_no_site_is_not_indexed_and_not_answered(stack, tree, visitors):
    loose = publish(tree["loose"], slug="rota", text=ROTA)
    state = PageIndexState.objects.get(page_id=loose.pk)
    assert state.status == "unroutable" and state.chunk_count == 0
    assert not KnowledgeChunk.objects.filter(page_id=loose.pk).exists()
    for host in ("localhost", "marina.test"):
        assert loose.pk not in cited_pages(visitors(host).ask(ASK_ROTA))
