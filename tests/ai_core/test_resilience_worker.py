"""Fallback chains, the shared circuit breaker, the response cache and time limits, through a real
worker, the real SDK and the fake provider server (calls are counted at the server)."""

import json
import time

import pytest
from django.contrib.auth import get_user_model

from ai_core.budgets.models import BudgetReservation
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.resilience.runtime import breaker_for
from tests.conftest import start_celery_worker, stop_celery_worker, tasks_routed_to, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FINISHED = {*AIRequest.TERMINAL, AIRequest.Status.AWAITING_REVIEW}

# rag_answer is a medium-tier prompt: its chain is sonnet -> haiku (the cheaper tier) -> local.
PRIMARY, CHEAPER = "claude-sonnet-4-6", "claude-haiku-4-5"
CLAUSE = {
    "prompt_key": "rag_answer",
    "payload": {"question": "Can either party terminate on 30 days' notice?"},
}


def _worker(django_db_blocker, tmp_path_factory, fake_url, name, **extra_env):
    from django.conf import settings

    env = {
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": fake_url,
        "AI_TIMEOUT_READ": "2",
        "AI_TASK_MAX_RETRIES": "0",
        "AI_BREAKER_THRESHOLD": "3",
        "AI_BREAKER_COOLDOWN_S": "2",
        **extra_env,
    }
    with django_db_blocker.unblock():
        return start_celery_worker(
            queue=f"{settings.CELERY_TASK_DEFAULT_QUEUE}-{name}",
            log_path=tmp_path_factory.mktemp(name) / "worker.log",
            extra_env=env,
        )


@pytest.fixture(scope="module")
def resilient_worker(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    proc = _worker(django_db_blocker, tmp_path_factory, fake_provider_server.base_url, "resilient")
    yield proc
    stop_celery_worker(proc)


@pytest.fixture
def editor_client(client):
    client.force_login(get_user_model().objects.create_user("legal", "legal@example.com", "pw-legal-12"))
    return client


def run(client, worker, payload=CLAUSE, timeout=30):
    with tasks_routed_to(worker.queue):
        response = client.post("/api/ai/requests/", json.dumps(payload), content_type="application/json")
    assert response.status_code == 202, response.content
    url = response.json()["poll_url"]
    return wait_for(
        lambda: (body := client.get(url).json())["status"] in FINISHED and body,
        timeout=timeout,
        message=f"request did not finish; worker log:\n{worker.log_path.read_text()[-4000:]}",
    )


def attempts(request_id):
    return list(
        LLMUsageLog.objects.filter(request_id=request_id)
        .order_by("id")
        .values_list("model", "outcome", "error_code")
    )


def test_overloaded_primary_is_served_by_the_next_model_and_both_attempts_are_logged(
    editor_client, resilient_worker, fake_provider
):
    fake_provider.script(path="/v1/messages", model=PRIMARY, status=529, times=1)
    fake_provider.script(path="/v1/messages", model=CHEAPER, reply="Termination needs 30 days' notice.")
    body = run(editor_client, resilient_worker)
    assert body["status"] == "done"
    assert body["model"] == CHEAPER  # the output records which model produced it
    assert attempts(body["id"]) == [(PRIMARY, "error", "overloaded"), (CHEAPER, "ok", "")]


def test_the_circuit_opens_after_repeated_failures_and_the_dead_model_is_not_called_while_open(
    editor_client, resilient_worker, fake_provider
):
    fake_provider.script(path="/v1/messages", model=PRIMARY, status=500, times=100)
    for n in range(5):
        body = run(editor_client, resilient_worker, {**CLAUSE, "payload": {"question": f"Question {n}?"}})
        assert body["status"] == "done" and body["model"] == CHEAPER
    assert (
        len(fake_provider.requests_for(path="/v1/messages", model=PRIMARY)) == 3
    )  # threshold, then fail fast
    assert breaker_for("anthropic", PRIMARY).state()["state"] in {"open", "half_open"}
    assert attempts(body["id"])[0] == (PRIMARY, "error", "circuit_open")

    # Half-open after the cool-down: one probe goes through, succeeds, and closes the circuit.
    fake_provider.reset()
    time.sleep(2.2)
    body = run(editor_client, resilient_worker, {**CLAUSE, "payload": {"question": "After recovery?"}})
    assert body["model"] == PRIMARY
    assert breaker_for("anthropic", PRIMARY).state()["state"] == "closed"
    assert len(fake_provider.requests_for(path="/v1/messages", model=PRIMARY)) == 1


def test_a_failed_probe_reopens_the_circuit(editor_client, resilient_worker, fake_provider):
    breaker = breaker_for("anthropic", PRIMARY)
    for _ in range(3):
        breaker.record_failure()
    time.sleep(2.2)
    fake_provider.script(path="/v1/messages", model=PRIMARY, status=529, times=1)
    body = run(editor_client, resilient_worker)
    assert attempts(body["id"])[:2] == [(PRIMARY, "error", "overloaded"), (CHEAPER, "ok", "")]
    assert breaker.state()["state"] == "open"


def test_when_every_remote_model_fails_the_offline_provider_answers_and_only_spent_tokens_are_charged(
    editor_client, resilient_worker, fake_provider
):
    fake_provider.script(path="/v1/messages", status=529, times=100)
    body = run(editor_client, resilient_worker)
    # The offline provider is the last link, so the visitor still gets an (extractive) answer.
    assert body["status"] == "done"
    assert body["model"] == "extractive-minilm"
    assert [a[0] for a in attempts(body["id"])] == [PRIMARY, CHEAPER, "extractive-minilm"]
    reservation = BudgetReservation.objects.get(request_id=body["id"])
    spent = sum(
        log.input_tokens + log.output_tokens for log in LLMUsageLog.objects.filter(request_id=body["id"])
    )
    assert reservation.actual_tokens == spent


def test_an_exact_repeat_is_served_from_the_cache_at_zero_tokens(
    editor_client, resilient_worker, fake_provider
):
    payload = {**CLAUSE, "payload": {"question": "Cached question?"}}
    first = run(editor_client, resilient_worker, payload)
    second = run(editor_client, resilient_worker, payload)
    assert second["result"] == first["result"]
    assert len(fake_provider.requests_for(path="/v1/messages")) == 1
    (hit,) = LLMUsageLog.objects.filter(request_id=second["id"])
    assert hit.outcome == "cache_hit"
    assert (hit.input_tokens, hit.output_tokens, hit.cost_usd) == (0, 0, 0)
    assert BudgetReservation.objects.get(request_id=second["id"]).actual_tokens == 0


@pytest.fixture(scope="module")
def strict_worker(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    """No local fallback; a 4 s soft time limit, so the chain's deadline is 3 s."""
    proc = _worker(
        django_db_blocker, tmp_path_factory, fake_provider_server.base_url, "strict",
        AI_FALLBACK_TO_LOCAL="false", AI_TASK_SOFT_TIME_LIMIT="4", AI_TASK_TIME_LIMIT="8", AI_TIMEOUT_READ="30",
    )  # fmt: skip
    yield proc
    stop_celery_worker(proc)


def test_all_providers_down_ends_failed_with_a_polite_message_and_no_budget_consumed(
    editor_client, strict_worker, fake_provider
):
    fake_provider.script(path="/v1/messages", status=529, times=100)
    body = run(editor_client, strict_worker)
    assert body["status"] == "failed"
    assert "try again" in body["error"]
    assert [a[2] for a in attempts(body["id"])] == ["overloaded", "overloaded"]
    assert BudgetReservation.objects.get(request_id=body["id"]).actual_tokens == 0


def test_a_hanging_provider_is_cut_off_at_the_task_deadline_not_the_client_timeout(
    editor_client, strict_worker, fake_provider
):
    fake_provider.script(path="/v1/messages", hang=20, times=5)
    started = time.monotonic()
    body = run(editor_client, strict_worker, timeout=15)
    assert time.monotonic() - started < 8  # the 30 s read timeout never came into play
    assert body["status"] == "failed"
    assert "too long" in body["error"]
    assert attempts(body["id"])[0][2] == "timeout"


@pytest.fixture(scope="module")
def soft_limit_worker(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    """The deadline margin is pushed past the soft limit, so Celery's soft limit itself fires."""
    proc = _worker(
        django_db_blocker, tmp_path_factory, fake_provider_server.base_url, "softlimit",
        AI_FALLBACK_TO_LOCAL="false", AI_TASK_SOFT_TIME_LIMIT="3", AI_TASK_TIME_LIMIT="8", AI_TIMEOUT_READ="30",
        AI_TASK_DEADLINE_MARGIN_S="-30",
    )  # fmt: skip
    yield proc
    stop_celery_worker(proc)


def test_the_celery_soft_time_limit_ends_a_stuck_task_as_failed(
    editor_client, soft_limit_worker, fake_provider, monkeypatch
):
    from ai_core.tasks import process_ai_request

    # Time limits travel in the message headers, taken from the sender's task definition.
    monkeypatch.setattr(process_ai_request, "soft_time_limit", 3)
    monkeypatch.setattr(process_ai_request, "time_limit", 8)
    monkeypatch.setattr(process_ai_request, "_exec_options", None)  # Celery caches the options it sends
    fake_provider.script(path="/v1/messages", hang=20, times=5)
    started = time.monotonic()
    body = run(editor_client, soft_limit_worker, timeout=15)
    assert time.monotonic() - started < 8  # well before the hard limit kills the process
    assert body["status"] == "failed"
    assert "too long" in body["error"]
    assert len(fake_provider.requests_for(path="/v1/messages")) == 1  # no next link after the limit
    # The call the limit cut short is on the books: logged with its prompt version, and charged.
    (log,) = LLMUsageLog.objects.filter(request_id=body["id"])
    assert (log.outcome, log.error_code) == ("error", "timeout")
    assert log.prompt_version == AIRequest.objects.get(pk=body["id"]).prompt_version
    assert log.input_tokens > 0
    reservation = BudgetReservation.objects.get(request_id=body["id"])
    assert reservation.settled_at is not None
    assert reservation.actual_tokens == log.input_tokens + log.output_tokens
