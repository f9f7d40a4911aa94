"""Approved answers reused, against the running stack: uvicorn, a real Celery worker (the local
MiniLM embedder embeds questions there), Redis, PostgreSQL and the fake Anthropic server, driven
over HTTP as anonymous visitors and a legal reviewer would.

A held answer is approved in the admin; a visitor asking a rewording then gets the approved text at
once, on the poll API, the stream and the no-JS page, labelled "Reviewed on DATE", and the model is
not called (the fake server's request log and the usage rows say so). Another site's visitor, an
edited cited paragraph, a page made private and a retired answer all get a fresh, gated answer.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from wagtail.models import PageViewRestriction, Site

from ai_core.models import AIRequest, ApprovedAnswer, LLMUsageLog
from review.models import ReviewItem
from tests.conftest import live_stack, wait_for
from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory
from tests.rag.conftest import body, ensure_wagtail_initial_data

pytestmark = pytest.mark.django_db(transaction=True)

FINISHED = {*AIRequest.TERMINAL, AIRequest.Status.AWAITING_REVIEW}
REFUND = "Refunds are paid back to the original card within 30 days of the returned item arriving at our warehouse."
SALE = "Items bought in the seasonal sale can be exchanged for another size but are not refunded."
ASKED = "How long does a refund take to reach my card?"
REWORDED = "How long do refunds take to get back to my card?"
# Held by the gate (a professional referral), then approved as it stands.
HELD_REPLY = "Refunds reach your original card within 30 days [1]. For anything else, consult a lawyer."
MESSAGES = "/v1/messages"


@pytest.fixture
def stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    """One per test: both processes cache content types by id (the review audit log needs them),
    and the flush between transactional tests recreates those rows under new ids."""
    with live_stack(
        "reuse",
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_FALLBACK_TO_LOCAL="false",
        AI_TASK_MAX_RETRIES="0",
        AI_ANON_RATE_LIMIT_REQUESTS="1000",
    ) as web:
        yield web


@pytest.fixture
def tree(transactional_db):
    root = ensure_wagtail_initial_data()
    home = HomePageFactory(parent=root, slug="home-reuse")
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    marina_home = HomePageFactory(parent=root, title="Marina", slug="marina-home")
    Site.objects.create(hostname="marina.test", port=80, root_page=marina_home, site_name="Marina")
    guides = ArticleIndexPageFactory(parent=home, title="Guides", slug="guides")
    harbour = ArticleIndexPageFactory(parent=marina_home, title="Harbour", slug="harbour")
    refunds = publish(
        guides,
        slug="refunds",
        items=[("h2", "Refund times"), ("p", REFUND), ("h2", "Sale items"), ("p", SALE)],
    )
    # The marina site answers the same question from its own page.
    publish(
        harbour, slug="mooring-refunds", items=[("h2", "Refund times"), ("p", REFUND.replace("30", "45"))]
    )
    return {"refunds": refunds}


def publish(parent, *, slug: str, items):
    page = ArticlePageFactory(
        parent=parent, title=slug.replace("-", " ").title(), slug=slug, intro="", body=body(*items)
    )
    page.save_revision().publish()  # indexed inline, on commit (eager Celery in this process)
    return page


def edit_paragraph(page, *, old: str, new: str) -> None:
    """An editor changes one paragraph in place (the block keeps its id) and publishes."""
    from wagtail.rich_text import RichText

    page = type(page).objects.get(pk=page.pk)
    for index, block in enumerate(page.body):
        if block.block_type == "paragraph" and old in block.value.source:
            page.body[index] = ("paragraph", RichText(f"<p>{new}</p>"), block.id)
            break
    page.save_revision().publish()


class Visitor:
    """An anonymous browser on one host name, talking to the real web server."""

    def __init__(self, stack, host: str = "localhost") -> None:
        self.http = httpx.Client(base_url=stack.url, headers={"Host": host}, timeout=30)
        self.csrf = self.http.get("/api/ai/csrf/").json()["csrf_token"]

    def ask(self, question: str) -> dict:
        accepted = self.http.post(
            "/api/ai/ask/", json={"question": question}, headers={"X-CSRFToken": self.csrf}
        )
        assert accepted.status_code == 202, accepted.text
        accepted = accepted.json()
        final = wait_for(
            lambda: (poll := self.http.get(accepted["poll_url"]).json())["status"] in FINISHED and poll,
            timeout=90,
            message="the question was never answered",
        )
        return {**accepted, "final": final}

    def stream_done(self, accepted: dict) -> dict:
        with self.http.stream("GET", accepted["stream_url"], timeout=30) as response:
            assert response.status_code == 200
            event = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event in {"done", "error"}:
                    return {"event": event, **json.loads(line[6:])}
        raise AssertionError("the stream ended without a final event")

    def page(self, accepted: dict) -> str:
        response = self.http.get(f"/ask/r/{accepted['id']}/")
        assert response.status_code == 200
        return response.text


def reviewer_client(stack) -> httpx.Client:
    group, _ = Group.objects.get_or_create(name="Legal reviewers")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="review", codename__in=["approve_reviewitem", "view_reviewitem"]
        ),
        *Permission.objects.filter(content_type__app_label="ai_core", codename="retire_approvedanswer"),
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
    )
    user = get_user_model().objects.filter(username="lena").first() or get_user_model().objects.create_user(
        "lena", "lena@example.com", "pw-lena-12345"
    )
    user.groups.add(group)
    django_client = Client()
    django_client.force_login(user)
    http = httpx.Client(base_url=stack.url, timeout=30)
    http.cookies.set("sessionid", django_client.cookies["sessionid"].value)
    return http


def approve_over_http(stack, item: ReviewItem) -> None:
    from review.wagtail_hooks import review_admin

    with reviewer_client(stack) as admin:
        inspect = admin.get(review_admin.url_helper.get_action_url("inspect", item.pk))
        assert inspect.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', inspect.text).group(1)
        decided = admin.post(
            review_admin.url_helper.get_action_url("approve", item.pk),
            data={"csrfmiddlewaretoken": token, "note": ""},
            headers={"Referer": stack.url},
        )
        assert decided.status_code == 302, decided.text


def held_then_approved(stack, fake_provider) -> ApprovedAnswer:
    """A visitor's question is held, a reviewer approves it, the worker embeds the question."""
    fake_provider.script(path=MESSAGES, reply=HELD_REPLY)
    visitor = Visitor(stack)
    asked = visitor.ask(ASKED)
    assert asked["final"]["status"] == "awaiting_review", asked["final"]
    approve_over_http(stack, ReviewItem.objects.get(ai_request_id=asked["id"]))
    answer = ApprovedAnswer.objects.get(source_request_id=asked["id"])
    wait_for(
        lambda: ApprovedAnswer.objects.filter(pk=answer.pk, embedding__isnull=False).exists(),
        timeout=60,
        message="the worker never embedded the approved question",
    )
    assert visitor.http.get(asked["poll_url"]).json()["result"] == HELD_REPLY  # the asker sees it too
    return answer


def model_calls(fake_provider) -> int:
    return len(fake_provider.requests_for(path=MESSAGES))


def test_a_reworded_question_gets_the_reviewed_answer_at_once_at_zero_tokens_and_never_on_another_site(
    stack, tree, fake_provider
):
    answer = held_then_approved(stack, fake_provider)
    calls = model_calls(fake_provider)

    later = Visitor(stack)
    reused = later.ask(REWORDED)
    final = reused["final"]
    assert (final["status"], final["result"]) == ("done", HELD_REPLY)
    assert final["reviewed_label"].startswith("Reviewed on ")
    (citation,) = final["citations"]
    assert citation["number"] == 1 and "#block-" in citation["url"]
    assert model_calls(fake_provider) == calls  # the model was not asked
    (usage,) = LLMUsageLog.objects.filter(request_id=reused["id"])
    assert (usage.outcome, usage.input_tokens + usage.output_tokens, usage.cost_usd) == (
        "approved_answer",
        0,
        0,
    )
    done = later.stream_done(reused)
    assert (done["event"], done["text"], done["reviewed_label"]) == (
        "done",
        HELD_REPLY,
        final["reviewed_label"],
    )
    page = later.page(reused)
    assert final["reviewed_label"] in page and "consult a lawyer" in page
    answer.refresh_from_db()
    assert answer.hits == 1

    # The same question on another site is answered from that site, by the model.
    fake_provider.script(path=MESSAGES, reply="Marina refunds take 45 days [1].")
    elsewhere = Visitor(stack, host="marina.test").ask(REWORDED)
    assert elsewhere["final"]["result"] != HELD_REPLY and not elsewhere["final"]["reviewed_label"]
    assert model_calls(fake_provider) == calls + 1
    assert AIRequest.objects.get(pk=elsewhere["id"]).approved_answer_id is None


def test_an_edited_cited_paragraph_stops_reuse(stack, tree, fake_provider):
    held_then_approved(stack, fake_provider)
    edit_paragraph(tree["refunds"], old="30 days", new=REFUND.replace("30 days", "14 days"))
    calls = model_calls(fake_provider)
    fake_provider.script(path=MESSAGES, reply="Refunds reach your card within 14 days [1].")
    fresh = Visitor(stack).ask(REWORDED)
    assert fresh["final"]["result"] != HELD_REPLY and not fresh["final"]["reviewed_label"]
    assert model_calls(fake_provider) == calls + 1


def test_a_page_made_private_stops_reuse(stack, tree, fake_provider):
    held_then_approved(stack, fake_provider)
    PageViewRestriction.objects.create(page=tree["refunds"], restriction_type=PageViewRestriction.LOGIN)
    calls = model_calls(fake_provider)
    fresh = Visitor(stack).ask(REWORDED)
    assert fresh["final"]["result"] != HELD_REPLY and not fresh["final"]["reviewed_label"]
    assert AIRequest.objects.get(pk=fresh["id"]).approved_answer_id is None
    assert model_calls(fake_provider) >= calls  # answered afresh (or "I don't know"), never reused


def test_an_answer_retired_in_the_admin_is_never_served_again(stack, tree, fake_provider):
    answer = held_then_approved(stack, fake_provider)
    with reviewer_client(stack) as admin:
        listing = admin.get("/admin/review/approved-answers/")
        assert listing.status_code == 200 and ASKED in listing.text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', listing.text).group(1)
        retired = admin.post(
            f"/admin/review/approved-answers/{answer.pk}/retire/",
            data={"csrfmiddlewaretoken": token},
            headers={"Referer": stack.url},
        )
        assert retired.status_code == 302, retired.text
    answer.refresh_from_db()
    assert answer.status == "retired"
    calls = model_calls(fake_provider)
    fake_provider.script(path=MESSAGES, reply="Refunds reach your card within 30 days [1].")
    fresh = Visitor(stack).ask(REWORDED)
    assert fresh["final"]["result"] != HELD_REPLY and not fresh["final"]["reviewed_label"]
    assert model_calls(fake_provider) == calls + 1
