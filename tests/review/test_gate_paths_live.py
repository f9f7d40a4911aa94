"""No unreviewed text on any path, against the running stack: uvicorn, a real worker, Redis and
PostgreSQL, the real Anthropic SDK streaming slowly from the fake provider. Each path by which a
model's text can reach a visitor (a stopped answer, the response cache, the last-good fallback) is
driven as a visitor would, over HTTP, and read back where a visitor reads: the poll API, the
answer stream and the no-JS result page."""

from __future__ import annotations

import json
import re

import httpx
import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from ai_core.models import AIRequest, LLMUsageLog
from review import rules
from review.models import ReviewItem
from tests.conftest import live_stack, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

STACK = "gatepaths"
FINISHED = {*AIRequest.TERMINAL, AIRequest.Status.AWAITING_REVIEW}
NEUTRAL_PENDING = "being checked by our team"
CLAUSE_REPLY = " ".join(f"Quillonic obligation {n} requires written notice." for n in range(1, 61))
FLAG_REPLY = (
    "Refunds are possible within thirty days of purchase. For your contract, consult a lawyer. "
    + " ".join(f"Further detail number {n} about refunds." for n in range(1, 61))
)
CLEAN = "Refunds are possible within thirty days of purchase. They are paid to the original card."
FLAGGED = "Refunds are possible within thirty days of purchase. For your contract, consult a lawyer."


@pytest.fixture
def stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    """Web server and worker on their own queue and Redis namespace; no local fallback and no
    task retries, so a provider outage goes straight to the last-good answer. One per test: both
    processes cache content types by id (the review audit log needs them), and the flush between
    transactional tests recreates those rows under new ids."""
    with live_stack(
        STACK,
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_FALLBACK_TO_LOCAL="false",
        AI_TASK_MAX_RETRIES="0",
    ) as web:
        yield web


@pytest.fixture
def stack_redis(stack):
    """The stack's Redis namespace, emptied before each test (cache, breakers, rate limits)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = f"lectern-test-{stack_test_id()}:"
    stale = list(client.scan_iter(match=f"{prefix}*"))
    if stale:
        client.delete(*stale)
    client.prefix = prefix
    return client


def stack_test_id() -> str:
    import os

    return f"{os.environ.get('LECTERN_TEST_ID', 'main')}-{STACK}"


def signed_in(web, user) -> httpx.Client:
    """An HTTP client of the live server holding ``user``'s session (sessions live in the DB)."""
    django_client = Client()
    django_client.force_login(user)
    http = httpx.Client(base_url=web.url, timeout=30)
    http.cookies.set("sessionid", django_client.cookies["sessionid"].value)
    return http


def csrf(http: httpx.Client) -> dict:
    return {"X-CSRFToken": http.get("/api/ai/csrf/").json()["csrf_token"]}


def post_json(http: httpx.Client, path: str, body: dict) -> dict:
    response = http.post(path, json=body, headers=csrf(http))
    assert response.status_code == 202, response.text
    return response.json()


def sse(http: httpx.Client, url: str, *, on_event=None) -> list[dict]:
    """Read the answer stream as EventSource would, until its final event."""
    events: list[dict] = []
    with http.stream("GET", url, timeout=30) as response:
        assert response.status_code == 200
        block: dict = {}
        for line in response.iter_lines():
            if line.startswith("event: "):
                block["event"] = line[7:]
            elif line.startswith("data: "):
                block["data"] = json.loads(line[6:])
            elif not line and "event" in block:
                events.append(block)
                if on_event:
                    on_event(block)
                if block["event"] in {"done", "error"}:
                    break
                block = {}
    return events


def finished(http: httpx.Client, accepted: dict) -> dict:
    return wait_for(
        lambda: (body := http.get(accepted["poll_url"]).json())["status"] in FINISHED and body,
        timeout=30,
        message="the request did not finish",
    )


def visitor_views(http: httpx.Client, accepted: dict) -> str:
    """Everything the asker can read about the request: poll, a fresh stream, the no-JS page."""
    poll = http.get(accepted["poll_url"]).json()
    stream = sse(http, accepted["stream_url"])
    page = http.get(f"/ask/r/{accepted['id']}/")
    assert page.status_code == 200
    return json.dumps(poll) + json.dumps(stream) + page.text


def approve_over_http(web, item: ReviewItem) -> str:
    """A legal reviewer opens the item in the admin and approves it; returns the inspect page."""
    from review.wagtail_hooks import review_admin

    reviewer = get_user_model().objects.create_user("lena", "lena@example.com", "pw-lena-12345")
    reviewer.groups.add(legal_reviewers_group())
    with signed_in(web, reviewer) as admin:
        inspect = admin.get(review_admin.url_helper.get_action_url("inspect", item.pk))
        assert inspect.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', inspect.text).group(1)
        decided = admin.post(
            review_admin.url_helper.get_action_url("approve", item.pk),
            data={"csrfmiddlewaretoken": token, "note": ""},
            headers={"Referer": web.url},
        )
        assert decided.status_code == 302, decided.text
        return inspect.text


def legal_reviewers_group():
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name="Legal reviewers")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="review", codename__in=["approve_reviewitem", "view_reviewitem"]
        ),
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
    )
    return group


def test_stop_on_an_always_reviewed_prompt_shows_nothing_until_a_reviewer_approves_the_partial(
    stack, stack_redis, fake_provider
):
    fake_provider.script(path="/v1/messages", reply=CLAUSE_REPLY, delta_delay=0.05)
    user = get_user_model().objects.create_user("legal", "legal@example.com", "pw-legal-12345")
    with signed_in(stack, user) as http:
        accepted = post_json(
            http, "/api/ai/requests/", {"prompt_key": "contract_analysis", "payload": {"clause": "Notice."}}
        )
        stopped = []

        def stop_once_writing(event: dict) -> None:
            # No text of an "always" prompt is streamed, only that the answer is being written.
            if event["event"] == "progress" and not stopped:
                stopped.append(http.post(f"{accepted['poll_url']}cancel/", headers=csrf(http)))

        events = sse(http, accepted["stream_url"], on_event=stop_once_writing)
        assert stopped and stopped[0].status_code == 202 and stopped[0].json()["result"] is None
        assert [e["event"] for e in events] == ["progress", "done"]
        assert events[-1]["data"]["status"] == "awaiting_review" and events[-1]["data"]["text"] == ""
        body = finished(http, accepted)
        assert (body["status"], body["result"]) == ("awaiting_review", None)

        item = ReviewItem.objects.get(ai_request_id=accepted["id"])
        partial = item.original_text
        assert partial.startswith("Quillonic") and len(partial) < len(CLAUSE_REPLY)  # stopped part-way
        assert rules.HIGH_STAKES in item.reasons
        seen = visitor_views(http, accepted)
        assert "Quillonic" not in seen and NEUTRAL_PENDING in seen

        inspect = approve_over_http(stack, item)
        assert partial.strip() in inspect  # the reviewer reads the partial in the queue

        body = http.get(accepted["poll_url"]).json()
        assert (body["status"], body["result"]) == ("cancelled", partial)  # shown, as stopped
        (final,) = sse(http, accepted["stream_url"])
        assert (final["data"]["status"], final["data"]["text"]) == ("cancelled", partial)
        page = http.get(f"/ask/r/{accepted['id']}/").text
        assert partial.strip() in page and "Stopped: the answer above is incomplete." in page


def test_stop_on_an_on_flag_answer_whose_partial_trips_a_rule_holds_it_for_review(
    stack, stack_redis, fake_provider
):
    fake_provider.script(path="/v1/messages", reply=FLAG_REPLY, delta_delay=0.05)
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        accepted = post_json(http, "/api/ai/ask/", {"question": "Can I get my money back?"})
        stopped = []

        def stop_when_the_text_is_withdrawn(event: dict) -> None:
            # The stream gate held the lawyer sentence and told the page to drop its text.
            if event["event"] == "reset" and not stopped:
                stopped.append(http.post(f"{accepted['poll_url']}cancel/", headers=csrf(http)))

        events = sse(http, accepted["stream_url"], on_event=stop_when_the_text_is_withdrawn)
        assert stopped and stopped[0].status_code == 202
        assert "lawyer" not in json.dumps(events)
        assert events[-1]["data"]["status"] == "awaiting_review" and events[-1]["data"]["text"] == ""
        assert finished(http, accepted)["result"] is None

        item = ReviewItem.objects.get(ai_request_id=accepted["id"])
        assert "consult a lawyer" in item.original_text and len(item.original_text) < len(FLAG_REPLY)
        assert rules.PROFESSIONAL_REFERRAL in item.reasons
        seen = visitor_views(http, accepted)
        assert "lawyer" not in seen and "Refunds are possible" not in seen and NEUTRAL_PENDING in seen


def cache_entries(stack_redis) -> list[bytes]:
    """The response cache's answer keys in the stack's namespace (not the per-chunk indexes)."""
    return [
        key
        for key in stack_redis.scan_iter(match=f"{stack_redis.prefix}rcache:rag_answer:*")
        if b":bychunk:" not in key
    ]


def ask_and_finish(http: httpx.Client, question: str) -> tuple[dict, dict]:
    accepted = post_json(http, "/api/ai/ask/", {"question": question})
    return accepted, finished(http, accepted)


def test_a_held_answer_is_never_cached_and_a_cached_answer_the_gate_now_holds_is_never_shown(
    stack, stack_redis, fake_provider
):
    question = "What are the refund terms?"
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        # A held answer is not cached: the repeat is generated and judged again.
        fake_provider.script(path="/v1/messages", reply=FLAGGED, times=2)
        for _ in range(2):
            accepted, body = ask_and_finish(http, question)
            assert (body["status"], body["result"]) == ("awaiting_review", None)
            assert "lawyer" not in visitor_views(http, accepted)
        assert len(fake_provider.requests_for(path="/v1/messages")) == 2
        assert cache_entries(stack_redis) == []

        # A clean answer is cached; then its entry holds text the gate holds (cached under an older
        # rule set, or written by anyone with Redis access). The hit is judged like a fresh answer.
        fake_provider.reset()
        fake_provider.script(path="/v1/messages", reply=CLEAN)
        question = "How are refunds paid?"
        _accepted, body = ask_and_finish(http, question)
        assert (body["status"], body["result"]) == ("done", CLEAN)
        (key,) = [k for k in cache_entries(stack_redis) if not k.endswith(b":last")]
        entry = json.loads(stack_redis.get(key))
        stack_redis.set(key, json.dumps({**entry, "text": FLAGGED}), keepttl=True)

        accepted, body = ask_and_finish(http, question)
        assert (body["status"], body["result"]) == ("awaiting_review", None)
        assert len(fake_provider.requests_for(path="/v1/messages")) == 1  # answered from the cache
        assert LLMUsageLog.objects.get(request_id=accepted["id"]).outcome == "cache_hit"
        assert "lawyer" not in visitor_views(http, accepted)
        assert ReviewItem.objects.get(ai_request_id=accepted["id"]).original_text == FLAGGED


def test_the_last_good_answer_served_while_providers_are_down_passes_the_gate(
    stack, stack_redis, fake_provider
):
    question = "Can I return a gift?"
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        fake_provider.script(path="/v1/messages", reply=CLEAN)
        _accepted, body = ask_and_finish(http, question)
        assert body["status"] == "done"
        (last,) = [k for k in cache_entries(stack_redis) if k.endswith(b":last")]
        entry = json.loads(stack_redis.get(last))
        stack_redis.set(last, json.dumps({**entry, "text": FLAGGED}), keepttl=True)
        stack_redis.delete(last[: -len(b":last")])  # the fresh entry expired; the last good one remains

        fake_provider.reset()
        fake_provider.script(path="/v1/messages", status=529, times=20)  # every model overloaded
        accepted, body = ask_and_finish(http, question)
        assert (body["status"], body["result"]) == ("awaiting_review", None)
        assert len(fake_provider.requests_for(path="/v1/messages")) >= 1  # the chain was tried first
        assert "lawyer" not in visitor_views(http, accepted)
        item = ReviewItem.objects.get(ai_request_id=accepted["id"])
        assert item.original_text == FLAGGED and rules.PROFESSIONAL_REFERRAL in item.reasons
