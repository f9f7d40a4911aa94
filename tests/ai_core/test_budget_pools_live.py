"""Budgets a crowd cannot drain, attacked over HTTP against the running stack (uvicorn, a real
worker, Redis, PostgreSQL, the real Anthropic SDK against the fake provider).

- Every address of one IPv6 /64 is one visitor for limits, and a forged left part of
  ``X-Forwarded-For`` changes nothing.
- ``X-Forwarded-For`` is honoured from a listed proxy only: from any other peer it is ignored.
- A crowd that empties the anonymous pool is refused with a clear message, while a signed-in user
  and the site's own work (a page summary) still run.
"""

from __future__ import annotations

import os

import httpx
import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from ai_core.budgets.models import BudgetReservation
from ai_core.budgets.services import estimate_tokens
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.prompts.registry import yaml_prompts
from tests.conftest import live_stack, start_web_server, stop_celery_worker, tasks_routed_to, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

STACK = "pools"
RAN = {AIRequest.Status.DONE, AIRequest.Status.AWAITING_REVIEW}
QUESTION = "How long do I have to ask for a refund?"
RATE_LIMIT = 3  # anonymous asks per client per window
# The limiter counts in fixed windows; one this long (~115 days) means a test never straddles two.
RATE_WINDOW = str(10**7)


def per_request() -> int:
    return estimate_tokens(yaml_prompts()["rag_answer"], {"question": QUESTION})


def anon_pool() -> int:
    return per_request() * 40  # room for every accepted ask below; emptied on purpose in one test


def stack_id(name: str) -> str:
    return f"{os.environ.get('LECTERN_TEST_ID', 'main')}-{name}"


def clear_namespace(name: str) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    stale = list(client.scan_iter(match=f"lectern-test-{stack_id(name)}:*"))
    if stale:
        client.delete(*stale)


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    """Behind a reverse proxy at 127.0.0.1 (the test client), which the site is told to trust."""
    with live_stack(
        STACK,
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        LECTERN_TRUSTED_PROXIES="127.0.0.1",
        AI_ANON_RATE_LIMIT_REQUESTS=str(RATE_LIMIT),
        AI_ANON_RATE_LIMIT_SECONDS=RATE_WINDOW,
        AI_BUDGET_ANON_POOL_DAILY_TOKENS=str(anon_pool()),
        AI_REVIEW_WEAK_GROUNDING="false",
    ) as web:
        yield web


@pytest.fixture
def fresh_stack(stack):
    """Rate limits and budgets of the stack start empty in each test (earlier work has settled:
    the suite waits for live workers to go idle before each teardown)."""
    clear_namespace(STACK)
    return stack


@pytest.fixture(scope="module")
def untrusted(django_db_setup, django_db_blocker, tmp_path_factory):
    """A web server whose only trusted proxies are elsewhere (10.0.0.0/8): 127.0.0.1 is a visitor.
    Nobody consumes its queue; this server is only about admission."""
    name = "untrusted"
    clear_namespace(name)
    with django_db_blocker.unblock():
        server = start_web_server(
            log_path=tmp_path_factory.mktemp(name) / "web.log",
            extra_env={
                "LECTERN_TEST_ID": stack_id(name),
                "LECTERN_TRUSTED_PROXIES": "10.0.0.0/8",
                "AI_ANON_RATE_LIMIT_REQUESTS": str(RATE_LIMIT),
                "AI_ANON_RATE_LIMIT_SECONDS": RATE_WINDOW,
            },
            workers=1,
        )
    yield server
    stop_celery_worker(server)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(f"lectern-test-{stack_id(name)}")


def ask(base_url: str, *, forwarded_for: str | None, http: httpx.Client | None = None) -> httpx.Response:
    """One anonymous visitor (a fresh session unless ``http`` is given) asking one question."""
    own = http is None
    http = http or httpx.Client(base_url=base_url, timeout=30)
    try:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        token = http.get("/api/ai/csrf/", headers=headers).json()["csrf_token"]
        return http.post(
            "/api/ai/ask/", json={"question": QUESTION}, headers={**headers, "X-CSRFToken": token}
        )
    finally:
        if own:
            http.close()


def signed_in(web, user) -> httpx.Client:
    django_client = Client()
    django_client.force_login(user)
    http = httpx.Client(base_url=web.url, timeout=30)
    http.cookies.set(settings.SESSION_COOKIE_NAME, django_client.cookies[settings.SESSION_COOKIE_NAME].value)
    return http


def ran(request_id, *, generated: bool = False) -> AIRequest:
    """Wait until the request is finished and its budget settled; it must have run, not failed
    (``generated``: by a model call, not from the response cache)."""
    request = wait_for(
        lambda: (r := AIRequest.objects.get(pk=request_id)).status in {*AIRequest.TERMINAL, *RAN} and r,
        timeout=30,
        message=f"request {request_id} did not finish",
    )
    assert request.status in RAN, (request.status, request.error)
    wait_for(
        lambda: BudgetReservation.objects.filter(request_id=request_id, settled_at__isnull=False).exists(),
        timeout=15,
        message=f"the budget of {request_id} was not settled",
    )
    usage = LLMUsageLog.objects.filter(request_id=request_id)
    assert usage.filter(input_tokens__gt=0).exists() if generated else usage.exists()
    return request


def test_a_crowd_from_one_ipv6_64_shares_one_limit(fresh_stack):
    crowd = [f"2001:db8:77:1:{n:x}:{n * 7:x}::{n}" for n in range(1, RATE_LIMIT + 1)]
    # Past the limit, the crowd also forges an address left of the one the proxy appended.
    crowd += [f"198.51.100.{n}, 2001:db8:77:1::{n:x}" for n in range(50, 53)]
    responses = [ask(fresh_stack.url, forwarded_for=address) for address in crowd]
    codes = [response.status_code for response in responses]
    assert codes == [202] * RATE_LIMIT + [429] * 3, [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses[RATE_LIMIT:]} == {"rate_limited"}
    assert all(int(r.headers["Retry-After"]) > 0 for r in responses[RATE_LIMIT:])
    accepted = AIRequest.objects.filter(pk__in=[r.json()["id"] for r in responses[:RATE_LIMIT]])
    assert set(accepted.values_list("client_ip", flat=True)) == {"2001:db8:77:1::"}

    # The next /64 is someone else, with a limit of their own.
    neighbour = ask(fresh_stack.url, forwarded_for="2001:db8:77:2::1")
    assert neighbour.status_code == 202, neighbour.text
    for response in [*responses[:RATE_LIMIT], neighbour]:
        ran(response.json()["id"])


def test_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy(untrusted):
    visitors = [f"2001:db8:{n}::1" for n in range(1, RATE_LIMIT + 2)]  # all different /64s
    responses = [ask(untrusted.url, forwarded_for=address) for address in visitors]
    accepted = AIRequest.objects.filter(pk__in=[r.json()["id"] for r in responses if r.status_code == 202])
    assert set(accepted.values_list("client_ip", flat=True)) == {"127.0.0.1"}
    assert [r.status_code for r in responses] == [202] * RATE_LIMIT + [429], [r.text for r in responses]
    assert responses[-1].json()["error"]["code"] == "rate_limited"  # one limit: the peer's


def test_an_empty_anonymous_pool_leaves_signed_in_users_and_system_work_running(
    fresh_stack, fake_provider, settings
):
    # The first answer reports a usage as large as the whole anonymous pool: settling it empties it.
    fake_provider.script(path="/v1/messages", usage={"input_tokens": anon_pool()})
    first = ask(fresh_stack.url, forwarded_for="2001:db8:88:1::1")
    assert first.status_code == 202, first.text
    ran(first.json()["id"], generated=True)

    crowd = [ask(fresh_stack.url, forwarded_for=f"2001:db8:88:{n:x}::1") for n in range(2, 8)]
    assert {r.status_code for r in crowd} == {429}, [r.text for r in crowd]
    for refused in crowd:
        error = refused.json()["error"]
        assert error["code"] == "budget_exceeded"
        assert "visitors who are not signed in is used up" in error["message"]
        assert 0 < int(refused.headers["Retry-After"]) <= 86400

    user = get_user_model().objects.create_user("pools-user", "pools@example.com", "pw-pools-12")
    with signed_in(fresh_stack, user) as http:
        token = http.get("/api/ai/csrf/").json()["csrf_token"]
        question = {"question": "Are refunds paid to the original card?"}  # not a cached answer
        response = http.post("/api/ai/ask/", json=question, headers={"X-CSRFToken": token})
    assert response.status_code == 202, response.text
    assert ran(response.json()["id"], generated=True).user_id == user.pk

    # The site's own work, started as the worker or a command would: it shares the stack's Redis
    # namespace and queue, and draws on the system pool.
    from ai_core.services.requests import ai_request_submit_system

    settings.AI_CORE = {**settings.AI_CORE, "REDIS_PREFIX": f"lectern-test-{stack_id(STACK)}"}
    with tasks_routed_to(fresh_stack.queue):  # before the setting: it restores the eager flag it found
        settings.CELERY_TASK_ALWAYS_EAGER = False
        summary = ai_request_submit_system(prompt_key="page_summary", payload={})
    assert ran(summary.pk, generated=True).session_key == "system"
    assert any(scope.endswith(":pool:system") for scope in summary.budget_reservation.scopes)
