"""The SSE relay: replay from the start, resume after Last-Event-ID, finish from Redis (or the row),
owner only; over HTTP: no database connection held while open, and the caps on open streams."""

import itertools
import json
import os
import time

import httpx
import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model

from ai_core.models import AIRequest
from ai_core.resilience.runtime import shared_redis
from ai_core.streams import stream_key, stream_publish
from tests.conftest import start_web_server, stop_celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def parse_sse(body: str) -> list[dict]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "event" in fields:
            events.append(
                {"id": fields.get("id"), "event": fields["event"], "data": json.loads(fields["data"])}
            )
    return events


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("reader", "reader@example.com", "pw-reader-1")


@pytest.fixture
def ai_request(owner):
    return AIRequest.objects.create(
        user=owner, prompt_key="rag_answer", prompt_version=1, payload={"question": "q"}
    )


def read_stream(client, ai_request, **headers) -> list[dict]:
    response = client.get(f"/api/ai/requests/{ai_request.pk}/stream/", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    return parse_sse(async_to_sync(_collect)(response).decode())


async def _collect(response) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


def publish_answer(ai_request):
    ids = [
        stream_publish(ai_request.pk, "delta", {"text": "Refunds are possible "}),
        stream_publish(ai_request.pk, "delta", {"text": "within 30 days [1]."}),
        stream_publish(
            ai_request.pk, "done", {"status": "done", "citations": [{"number": 1, "url": "/x/#block-1"}]}
        ),
    ]
    return ids


def test_a_late_client_replays_the_whole_answer_then_the_citations(client, owner, ai_request):
    publish_answer(ai_request)
    client.force_login(owner)
    events = read_stream(client, ai_request)
    assert [e["event"] for e in events] == ["delta", "delta", "done"]
    assert (
        "".join(e["data"]["text"] for e in events if e["event"] == "delta")
        == "Refunds are possible within 30 days [1]."
    )
    assert events[-1]["data"]["citations"][0]["url"] == "/x/#block-1"


def test_a_reconnecting_client_resumes_after_last_event_id(client, owner, ai_request):
    ids = publish_answer(ai_request)
    client.force_login(owner)
    events = read_stream(client, ai_request, HTTP_LAST_EVENT_ID=ids[0])
    assert [e["id"] for e in events] == ids[1:]
    assert events[0]["data"]["text"] == "within 30 days [1]."


def test_a_finished_request_whose_stream_expired_still_gets_its_outcome(client, owner, ai_request):
    ai_request.status = AIRequest.Status.DONE
    ai_request.result = "Stored answer [1]."
    ai_request.save()
    client.force_login(owner)
    (event,) = read_stream(client, ai_request)
    assert event["event"] == "done"
    assert event["data"]["text"] == "Stored answer [1]."


def test_an_answer_awaiting_review_never_reaches_the_stream_as_text(client, owner, ai_request):
    ai_request.status = AIRequest.Status.AWAITING_REVIEW
    ai_request.result = "Flagged text"
    ai_request.save()
    stream_publish(ai_request.pk, "done", {"status": "awaiting_review", "text": "", "citations": []})
    client.force_login(owner)
    body = json.dumps(read_stream(client, ai_request))
    assert "Flagged text" not in body


def test_a_held_answer_whose_stream_was_never_emptied_replays_none_of_it(client, owner, ai_request):
    # The worker streamed two checked sentences, then the whole answer was held; Redis was gone at
    # that moment, so the stream was neither emptied nor ended. Back up, it still holds them.
    stream_publish(ai_request.pk, "delta", {"text": "Refunds are possible "})
    stream_publish(ai_request.pk, "delta", {"text": "within 30 days [1]."})
    ai_request.status = AIRequest.Status.AWAITING_REVIEW
    ai_request.result = "Refunds are possible within 30 days [1]. And more."
    ai_request.save()
    client.force_login(owner)
    events = read_stream(client, ai_request)
    assert [e["event"] for e in events] == ["done"]
    assert events[0]["data"]["status"] == "awaiting_review"
    assert "Refunds" not in json.dumps(events)


def test_another_users_stream_is_404(client, ai_request, django_user_model):
    publish_answer(ai_request)
    client.force_login(django_user_model.objects.create_user("other", "o@example.com", "pw-other-12"))
    response = client.get(f"/api/ai/requests/{ai_request.pk}/stream/")
    assert response.status_code == 404


def test_a_malformed_last_event_id_is_400(client, owner, ai_request):
    client.force_login(owner)
    response = client.get(f"/api/ai/requests/{ai_request.pk}/stream/", HTTP_LAST_EVENT_ID="0; DROP")
    assert response.status_code == 400


def test_a_finished_request_whose_stream_expired_is_answered_from_redis(client, owner, ai_request):
    publish_answer(ai_request)
    shared_redis().delete(stream_key(ai_request.pk))  # the stream expired; the final event is kept longer
    client.force_login(owner)
    (event,) = read_stream(client, ai_request)
    assert event["event"] == "done" and event["data"]["citations"][0]["url"] == "/x/#block-1"


def test_a_last_event_id_past_the_end_of_a_finished_stream_gets_the_final_event(client, owner, ai_request):
    ids = publish_answer(ai_request)
    client.force_login(owner)
    (event,) = read_stream(client, ai_request, HTTP_LAST_EVENT_ID="99999999999999-0")
    assert event["event"] == "done" and event["id"] == ids[-1]


@pytest.mark.parametrize("last_id", ["-", "--", "1-2-3", "99999999999999999999999-0", "1-" + "9" * 21])
def test_a_last_event_id_redis_would_refuse_is_400(client, owner, ai_request, last_id):
    client.force_login(owner)
    response = client.get(f"/api/ai/requests/{ai_request.pk}/stream/", HTTP_LAST_EVENT_ID=last_id)
    assert response.status_code == 400
    assert "stream id" in response.json()["error"]["message"]


# --- Over HTTP, on a web server nobody works for: every request stays pending, its stream open.

POOL_SIZE = 2
PER_SESSION = 3
PER_CLIENT = 9
_ADDRESSES = itertools.count(1)
IDLE_STREAMS_ID = f"{os.environ.get('LECTERN_TEST_ID', 'main')}-idle-streams"


@pytest.fixture(scope="module")
def idle_web(django_db_setup, django_db_blocker, tmp_path_factory):
    """uvicorn with a two-connection pool (a stream holding one would starve it within three
    streams) and small caps. Its queue has no worker, so answers never come."""
    env = {
        "LECTERN_TEST_ID": IDLE_STREAMS_ID,
        "DATABASE_POOL": "true",
        "DATABASE_POOL_MIN_SIZE": "1",
        "DATABASE_POOL_MAX_SIZE": str(POOL_SIZE),
        "DATABASE_POOL_TIMEOUT": "3",
        "AI_STREAMS_MAX_PER_SESSION": str(PER_SESSION),
        "AI_STREAMS_MAX_PER_CLIENT": str(PER_CLIENT),
        "LECTERN_TRUSTED_PROXIES": "127.0.0.1",
        "AI_ANON_RATE_LIMIT_REQUESTS": "1000",
        "AI_BUDGET_ANON_IP_DAILY_TOKENS": "100000000",
        "AI_BUDGET_ANON_DAILY_TOKENS": "100000000",
    }
    _forget_server_state()  # leases an aborted earlier run left would count against this one
    with django_db_blocker.unblock():
        web = start_web_server(
            log_path=tmp_path_factory.mktemp("idle-streams") / "web.log", extra_env=env, workers=1
        )
    yield web
    stop_celery_worker(web)
    _forget_server_state()


def _forget_server_state() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"lectern-test-{IDLE_STREAMS_ID}:*"))
    if keys:
        client.delete(*keys)


class Visitor:
    """An anonymous browser session that asks and then holds answer streams open."""

    def __init__(self, base_url: str, address: str):
        self.address = address
        # The test server trusts 127.0.0.1 as a proxy, so each test's visitors get a client address
        # of their own: a stream an earlier test closed cannot count against this test's cap.
        self.http = httpx.Client(base_url=base_url, timeout=10, headers={"X-Forwarded-For": address})
        self.csrf = self.http.get("/api/ai/csrf/").json()["csrf_token"]
        self.open: list[httpx.Response] = []

    def ask(self) -> dict:
        response = self.http.post(
            "/api/ai/ask/", json={"question": "How do refunds work?"}, headers={"X-CSRFToken": self.csrf}
        )
        assert response.status_code == 202, response.text
        return response.json()

    def open_stream(self, accepted: dict) -> httpx.Response:
        """Open a stream and read its first bytes (the view has run); keep it open if it is a 200."""
        response = self.http.send(self.http.build_request("GET", accepted["stream_url"]), stream=True)
        if response.status_code == 200:
            # Keep the iterator: a dropped one closes the connection when it is garbage-collected.
            response.chunks = response.iter_raw()
            assert next(response.chunks).startswith(b"retry:")
            self.open.append(response)
        else:
            response.read()
            response.close()
        return response

    def close(self) -> None:
        for response in self.open:
            response.close()
        self.http.close()


@pytest.fixture
def visitors(idle_web):
    made: list[Visitor] = []

    address = f"198.51.100.{next(_ADDRESSES)}"

    def make() -> Visitor:
        made.append(Visitor(idle_web.url, address))
        return made[-1]

    yield make
    for visitor in made:
        visitor.close()


def test_open_streams_hold_no_database_connection(idle_web, visitors):
    crowd = [visitors() for _ in range(3)]
    for visitor in crowd:
        accepted = visitor.ask()
        for _ in range(PER_SESSION):
            assert visitor.open_stream(accepted).status_code == 200
    # Nine streams open on a pool of two: each one's ownership check got a connection and gave it
    # back, and pages that need the database still get one at once.
    assert sum(len(v.open) for v in crowd) == 3 * PER_SESSION > POOL_SIZE
    for _ in range(5):
        started = time.monotonic()
        poll = crowd[0].http.get(accepted_poll_url := crowd[0].ask()["poll_url"])
        assert poll.status_code == 200 and time.monotonic() - started < 1.0, accepted_poll_url
        assert crowd[1].http.get("/ask/").status_code == 200


def test_past_the_per_session_cap_a_stream_is_429_with_retry_after(idle_web, visitors):
    visitor = visitors()
    accepted = visitor.ask()
    for _ in range(PER_SESSION):
        assert visitor.open_stream(accepted).status_code == 200
    refused = visitor.open_stream(accepted)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["error"]["code"] == "too_many_streams"
    assert f"{PER_SESSION} per session" in refused.json()["error"]["message"]
    # Closing a stream gives its place back (the server sees the disconnect and drops the lease).
    visitor.open.pop().close()
    wait_for(lambda: visitor.open_stream(accepted).status_code == 200, timeout=10, interval=0.2)


def test_streams_closed_as_soon_as_they_open_give_their_places_back_at_once(idle_web, visitors):
    # Opening and dropping streams back to back lands the server's one cancellation in the middle
    # of Redis commands, where the Redis client used to swallow it about one time in three: those
    # relays kept renewing their lease for the longest a stream may live.
    visitor = visitors()
    accepted = visitor.ask()
    for _ in range(8 * PER_SESSION):
        visitor.open_stream(accepted)
        for response in visitor.open:
            response.close()
        visitor.open.clear()
    # Well inside one renewal (10 s) and one lease (30 s): a slot held by a gone client fails this.
    wait_for(lambda: _open_streams(visitor.address) == 0, timeout=5, interval=0.1)
    for _ in range(PER_SESSION):
        assert visitor.open_stream(accepted).status_code == 200


def _open_streams(address: str) -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = f"lectern-test-{IDLE_STREAMS_ID}:streams:client:{address}"
    return client.zcount(key, time.time(), "+inf")


def test_past_the_per_client_cap_a_new_session_is_429_too(idle_web, visitors):
    crowd = [visitors() for _ in range(PER_CLIENT // PER_SESSION)]
    for visitor in crowd:
        accepted = visitor.ask()
        for _ in range(PER_SESSION):
            assert visitor.open_stream(accepted).status_code == 200
    newcomer = visitors()  # fresh cookies, same address
    refused = newcomer.open_stream(newcomer.ask())
    assert refused.status_code == 429
    assert "per client address" in refused.json()["error"]["message"]


@pytest.mark.parametrize("name,value", [("MAX_PER_SESSION", 0), ("MAX_PER_CLIENT", "20"), ("LEASE_S", 5)])
def test_a_bad_stream_setting_fails_the_system_check(settings, name, value):
    from ai_core.checks import check_stream_settings

    settings.AI_CORE = {**settings.AI_CORE, "STREAMS": {**settings.AI_CORE["STREAMS"], name: value}}
    (error,) = check_stream_settings()
    assert error.id == "ai_core.E005" and name in error.msg
