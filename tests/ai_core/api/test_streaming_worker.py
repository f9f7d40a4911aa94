"""Streaming end to end: browser-like client -> ASGI server -> Redis -> real worker -> real SDK ->
fake provider (streaming over HTTP), and Stop in the middle of it."""

import json
import time

import httpx
import pytest

from ai_core.budgets.models import BudgetReservation
from ai_core.models import AIRequest, LLMUsageLog
from tests.conftest import live_stack

pytestmark = pytest.mark.django_db(transaction=True)

LONG_REPLY = " ".join(f"Sentence number {n} about refunds within thirty days." for n in range(1, 41))


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    """A web server and a worker sharing one queue and Redis namespace, the worker on Anthropic."""
    with live_stack(
        "stream",
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_FALLBACK_TO_LOCAL="false",
    ) as web:
        yield web, web.worker


def ask(http: httpx.Client, question: str) -> dict:
    token = http.get("/api/ai/csrf/").json()["csrf_token"]
    response = http.post("/api/ai/ask/", json={"question": question}, headers={"X-CSRFToken": token})
    assert response.status_code == 202, response.text
    return response.json()


def sse_events(http: httpx.Client, url: str, *, on_event=None):
    events = []
    with http.stream("GET", url, timeout=30) as response:
        assert response.status_code == 200
        block: dict = {}
        for line in response.iter_lines():
            if line.startswith("event: "):
                block["event"] = line[7:]
            elif line.startswith("data: "):
                block["data"] = json.loads(line[6:])
            elif line.startswith("id: "):
                block["id"] = line[4:]
            elif not line and "event" in block:
                block["at"] = time.monotonic()
                events.append(block)
                if on_event:
                    on_event(block)
                if block["event"] in {"done", "error"}:
                    break
                block = {}
    return events


def test_a_visitor_sees_the_answer_stream_in_then_the_final_event(stack, fake_provider):
    web, worker = stack
    fake_provider.script(path="/v1/messages", reply=LONG_REPLY, delta_delay=0.01)
    with httpx.Client(base_url=web.url, timeout=30) as http:
        accepted = ask(http, "How do refunds work?")
        events = sse_events(http, accepted["stream_url"])
    deltas = [e for e in events if e["event"] == "delta"]
    assert len(deltas) > 10
    assert deltas[-1]["at"] - deltas[0]["at"] > 0.1  # text arrived over time, not in one piece
    assert "".join(d["data"]["text"] for d in deltas) == events[-1]["data"]["text"]
    assert events[-1]["event"] == "done" and events[-1]["data"]["status"] == "done"


def test_stop_keeps_the_partial_answer_marks_it_cancelled_and_charges_only_what_was_generated(
    stack, fake_provider
):
    web, worker = stack
    fake_provider.script(path="/v1/messages", reply=LONG_REPLY, delta_delay=0.1)
    with httpx.Client(base_url=web.url, timeout=30) as http:
        accepted = ask(http, "Tell me everything about refunds")
        token = http.cookies.get("csrftoken")
        stopped = []

        def stop_after_three(event):
            if event["event"] == "delta" and len(stopped) == 0 and event.get("id") and len(seen) >= 2:
                stopped.append(http.post(f"{accepted['poll_url']}cancel/", headers={"X-CSRFToken": token}))
            seen.append(event)

        seen: list = []
        events = sse_events(http, accepted["stream_url"], on_event=stop_after_three)
    assert stopped and stopped[0].status_code == 202
    final = events[-1]
    assert final["event"] == "done" and final["data"]["status"] == "cancelled"
    partial = final["data"]["text"]
    assert partial and len(partial) < len(LONG_REPLY) / 2
    request = AIRequest.objects.get(pk=accepted["id"])
    assert request.status == AIRequest.Status.CANCELLED and request.result == partial
    (log,) = LLMUsageLog.objects.filter(request=request)
    full_output_words = len(LONG_REPLY.split())
    assert 0 < log.output_tokens < full_output_words / 2  # charged for what was generated, not max_tokens
    assert (
        BudgetReservation.objects.get(request=request).actual_tokens == log.input_tokens + log.output_tokens
    )


FAR_FUTURE = "99999999999999-0"


def read_to_close(http: httpx.Client, url: str, **headers) -> tuple[list[dict], float]:
    """Every event until the server closes the connection, and when it closed."""
    events, block = [], {}
    with http.stream("GET", url, headers=headers, timeout=30) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("event: "):
                block["event"] = line[7:]
            elif line.startswith("data: "):
                block["data"] = json.loads(line[6:])
            elif not line and "event" in block:
                block["at"] = time.monotonic()
                events.append(block)
                block = {}
    return events, time.monotonic()


def wait_finished(http: httpx.Client, accepted: dict) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = http.get(accepted["poll_url"]).json()
        if body["status"] not in ("pending", "processing"):
            return body
        time.sleep(0.1)
    pytest.fail(f"request {accepted['id']} never finished")


def test_the_relay_closes_as_soon_as_the_final_event_is_delivered(stack, fake_provider):
    web, _ = stack
    fake_provider.script(path="/v1/messages", reply="Refunds take thirty days.", delta_delay=0.05)
    with httpx.Client(base_url=web.url, timeout=30) as http:
        accepted = ask(http, "How long do refunds take?")
        events, closed_at = read_to_close(http, accepted["stream_url"])
    assert events[-1]["event"] == "done"
    assert closed_at - events[-1]["at"] < 1.0  # not another 10 s wait, nor the 300 s maximum


def test_a_finished_requests_stream_replays_and_ends_promptly(stack, fake_provider):
    web, _ = stack
    fake_provider.script(path="/v1/messages", reply="Refunds take thirty days.")
    with httpx.Client(base_url=web.url, timeout=30) as http:
        accepted = ask(http, "Do refunds take long?")
        wait_finished(http, accepted)
        opened = time.monotonic()
        events, closed_at = read_to_close(http, accepted["stream_url"])
    assert events[-1]["event"] == "done" and events[-1]["data"]["status"] == "done"
    assert closed_at - opened < 2.0


def test_a_far_future_last_event_id_gets_the_final_event_and_the_connection_closes(stack, fake_provider):
    web, _ = stack
    fake_provider.script(path="/v1/messages", reply="Refunds take thirty days.")
    with httpx.Client(base_url=web.url, timeout=30) as http:
        accepted = ask(http, "Can I get a refund?")
        final = wait_finished(http, accepted)
        opened = time.monotonic()
        events, closed_at = read_to_close(http, accepted["stream_url"], **{"Last-Event-ID": FAR_FUTURE})
    assert [e["event"] for e in events] == ["done"]
    assert events[0]["data"]["status"] == final["status"]
    assert closed_at - opened < 2.0


def test_a_far_future_last_event_id_on_a_running_answer_follows_it_to_the_end(stack, fake_provider):
    web, _ = stack
    fake_provider.script(path="/v1/messages", reply=LONG_REPLY, delta_delay=0.02)
    with httpx.Client(base_url=web.url, timeout=30) as http:
        accepted = ask(http, "Explain refunds in detail")
        started = time.monotonic()
        events, closed_at = read_to_close(http, accepted["stream_url"], **{"Last-Event-ID": FAR_FUTURE})
    # Treated as "from the current end": the rest of the answer, then the final event, then closed.
    assert events[-1]["event"] == "done"
    assert closed_at - events[-1]["at"] < 1.0 and closed_at - started < 20
