"""End to end: HTTP submit -> Redis -> real Celery worker -> real SDK -> fake provider over HTTP -> poll."""

import json

import pytest
from django.contrib.auth import get_user_model

from ai_core.models import AIRequest, LLMUsageLog
from ai_core.tasks import process_ai_request
from tests.conftest import start_celery_worker, stop_celery_worker, tasks_routed_to, wait_for

from .locks import lock_held_by_another_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def anthropic_worker(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    """A worker whose settings select Anthropic, pointed at the fake server, with short limits."""
    from django.conf import settings

    env = {
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": fake_provider_server.base_url,
        "AI_TIMEOUT_READ": "1",
        "AI_TASK_MAX_RETRIES": "1",
        "AI_FALLBACK_TO_LOCAL": "false",  # this module tests the lifecycle; fallbacks have their own tests
    }
    with django_db_blocker.unblock():
        proc = start_celery_worker(
            queue=f"{settings.CELERY_TASK_DEFAULT_QUEUE}-anthropic",
            log_path=tmp_path_factory.mktemp("celery-anthropic") / "worker.log",
            extra_env=env,
        )
    yield proc
    stop_celery_worker(proc)


@pytest.fixture
def editor_client(client):
    user = get_user_model().objects.create_user("editor", "editor@example.com", "pw-editor-1")
    client.force_login(user)
    return client


def submit_and_wait(client, worker, payload, *, until=AIRequest.TERMINAL, timeout=30):
    with tasks_routed_to(worker.queue):
        response = client.post("/api/ai/requests/", json.dumps(payload), content_type="application/json")
    assert response.status_code == 202, response.content
    poll_url = response.json()["poll_url"]

    def finished():
        body = client.get(poll_url).json()
        return body if body["status"] in until else None

    return wait_for(
        finished, timeout=timeout, message=f"request not finished; worker log:\n{worker.log_path.read_text()}"
    )


def test_request_is_answered_by_claude_through_the_sdk_and_costed(
    editor_client, anthropic_worker, fake_provider
):
    fake_provider.script(
        path="/v1/messages",
        reply="billing",
        usage={
            "input_tokens": 1200,
            "output_tokens": 2,
            "cache_creation_input_tokens": 400,
            "cache_read_input_tokens": 0,
        },
    )
    body = submit_and_wait(
        editor_client, anthropic_worker, {"prompt_key": "content_classify", "payload": {"text": "Invoice"}}
    )
    assert body["status"] == "done"
    assert body["result"] == "billing"
    assert body["model"] == "claude-haiku-4-5"  # classification routes to the small tier
    (call,) = fake_provider.requests_for(path="/v1/messages")
    assert call["body"]["model"] == "claude-haiku-4-5"
    assert call["body"]["max_tokens"] == 10
    # The system prompt is far below Haiku's minimum cacheable prefix, so no breakpoint is sent.
    assert "cache_control" not in call["body"]["system"][0]
    (log,) = LLMUsageLog.objects.filter(request_id=body["id"])
    assert (log.input_tokens, log.output_tokens, log.cache_write_tokens) == (1200, 2, 400)
    # Haiku per million tokens: $1 input, $5 output, $1.25 cache write.
    assert str(log.cost_usd) == "0.00171000"


def test_a_rate_limited_call_is_retried_after_retry_after_and_both_attempts_are_logged(
    editor_client, anthropic_worker, fake_provider
):
    fake_provider.script(path="/v1/messages", status=429, retry_after=0, times=1)
    fake_provider.script(path="/v1/messages", reply="support")
    body = submit_and_wait(
        editor_client, anthropic_worker, {"prompt_key": "content_classify", "payload": {"text": "Help"}}
    )
    assert body["status"] == "done"
    assert body["result"] == "support"
    logs = list(LLMUsageLog.objects.filter(request_id=body["id"]).order_by("attempt"))
    assert [(log.attempt, log.outcome, log.error_code) for log in logs] == [
        (1, "error", "rate_limited"),
        (2, "ok", ""),
    ]
    assert AIRequest.objects.get(pk=body["id"]).attempts == 2


def test_a_delivery_that_waited_for_a_held_request_still_has_its_retry_for_the_provider(
    editor_client, anthropic_worker, fake_provider, unread_queues
):
    """The worker meets the request locked by another session (a dead worker's, lingering) and
    waits for it; then the provider rate-limits the first call. Waiting was not an attempt, so the
    one retry this worker has (AI_TASK_MAX_RETRIES=1) is still there and the visitor is answered."""
    fake_provider.script(path="/v1/messages", status=429, retry_after=0, times=1)
    fake_provider.script(path="/v1/messages", reply="support")
    with tasks_routed_to(unread_queues[0]):  # stored and queued where no worker reads it
        response = editor_client.post(
            "/api/ai/requests/",
            json.dumps({"prompt_key": "content_classify", "payload": {"text": "Help"}}),
            content_type="application/json",
        )
    assert response.status_code == 202, response.content
    request_id = response.json()["id"]
    with lock_held_by_another_session(request_id):
        with tasks_routed_to(anthropic_worker.queue):
            process_ai_request.apply_async(args=[request_id])  # the redelivery
        wait_for(
            lambda: (
                f"ai_request {request_id} is held by another session; trying again in 4 s"
                in anthropic_worker.log_path.read_text()
            ),
            timeout=20,
            message=f"the worker never met the lock:\n{anthropic_worker.log_path.read_text()}",
        )
    body = wait_for(
        lambda: (
            (b := editor_client.get(response.json()["poll_url"]).json())["status"] in AIRequest.TERMINAL and b
        ),
        timeout=30,
        message=f"request not finished; worker log:\n{anthropic_worker.log_path.read_text()}",
    )
    assert (body["status"], body["result"]) == ("done", "support")
    logs = LLMUsageLog.objects.filter(request_id=request_id).order_by("attempt")
    assert [(log.attempt, log.outcome, log.error_code) for log in logs] == [
        (1, "error", "rate_limited"),
        (2, "ok", ""),
    ]
    assert AIRequest.objects.get(pk=request_id).attempts == 2


def test_a_provider_that_stays_overloaded_ends_failed_with_a_safe_message(
    editor_client, anthropic_worker, fake_provider
):
    fake_provider.script(path="/v1/messages", status=529, times=5)
    body = submit_and_wait(
        editor_client, anthropic_worker, {"prompt_key": "content_classify", "payload": {"text": "x"}}
    )
    assert body["status"] == "failed"
    assert body["result"] is None
    assert "busy" in body["error"] or "unavailable" in body["error"]
    assert "529" not in body["error"] and "overloaded_error" not in body["error"]
    outcomes = list(LLMUsageLog.objects.filter(request_id=body["id"]).values_list("error_code", flat=True))
    assert outcomes == ["overloaded", "overloaded"]  # first try + one retry (AI_TASK_MAX_RETRIES=1)


def test_a_hanging_provider_times_out_instead_of_holding_the_worker(
    editor_client, anthropic_worker, fake_provider
):
    fake_provider.script(path="/v1/messages", hang=30, times=5)
    body = submit_and_wait(
        editor_client,
        anthropic_worker,
        {"prompt_key": "content_classify", "payload": {"text": "x"}},
        timeout=20,
    )
    assert body["status"] == "failed"
    assert "too long" in body["error"]
    codes = set(LLMUsageLog.objects.filter(request_id=body["id"]).values_list("error_code", flat=True))
    assert codes == {"timeout"}


def test_visitor_question_answered_offline_by_the_local_provider(client, celery_live):
    body = submit_and_wait_ask(client, celery_live)
    assert body["status"] == "done"
    assert body["model"] == "extractive-minilm"
    log = LLMUsageLog.objects.get(request_id=body["id"])
    assert log.cost_usd == 0


def submit_and_wait_ask(client, worker):
    response = client.post(
        "/api/ai/ask/", json.dumps({"question": "How do refunds work?"}), content_type="application/json"
    )
    assert response.status_code == 202
    poll_url = response.json()["poll_url"]
    return wait_for(
        lambda: (b := client.get(poll_url).json())["status"] in AIRequest.TERMINAL and b,
        message=f"not finished; worker log:\n{worker.log_path.read_text()}",
    )
