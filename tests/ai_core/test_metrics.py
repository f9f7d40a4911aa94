"""``/metrics``: what Prometheus scrapes is read from the database and Redis, behind a token."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import redis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ai_core.models import AIRequest, LLMUsageLog
from tests.conftest import tasks_routed_to

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789abcdef"


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.LECTERN_METRICS_TOKEN = TOKEN


def scrape(client, token: str = TOKEN) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def make_request(prompt_key: str, status: str, *, took_s: float | None = None) -> AIRequest:
    request = AIRequest.objects.create(prompt_key=prompt_key, prompt_version=1, status=status)
    if took_s is not None:
        created = timezone.now() - dt.timedelta(seconds=took_s + 5)
        AIRequest.objects.filter(pk=request.pk).update(
            created_at=created, finished_at=created + dt.timedelta(seconds=took_s)
        )
    return request


def make_call(**fields) -> LLMUsageLog:
    defaults = {"provider": "anthropic", "model": "claude-haiku-4-5", "prompt_key": "content_classify"}
    return LLMUsageLog.objects.create(**{**defaults, **fields})


def test_request_counts_tokens_and_cost_come_from_the_database(client):
    for _ in range(3):
        make_request("content_classify", AIRequest.Status.DONE, took_s=1.5)
    make_request("content_classify", AIRequest.Status.FAILED, took_s=40)
    make_request("rag_answer", AIRequest.Status.PENDING)
    make_request("rag_answer", AIRequest.Status.AWAITING_REVIEW)
    make_call(input_tokens=1200, output_tokens=2, cache_write_tokens=400, cost_usd=Decimal("0.00171"))
    make_call(input_tokens=300, output_tokens=50, cache_read_tokens=1000, cost_usd=Decimal("0.00065"))
    make_call(outcome="error", error_code="overloaded", attempt=1)
    make_call(provider="local", model="extractive-minilm", prompt_key="rag_answer", input_tokens=900)

    samples = scrape(client)

    assert value(samples, "lectern_ai_requests_total", prompt_key="content_classify") == 4
    assert value(samples, "lectern_ai_requests_total", prompt_key="rag_answer") == 2
    assert (
        value(samples, "lectern_ai_requests_finished_total", prompt_key="content_classify", status="done")
        == 3
    )
    assert (
        value(samples, "lectern_ai_requests_finished_total", prompt_key="content_classify", status="failed")
        == 1
    )
    assert value(samples, "lectern_ai_requests_open", prompt_key="rag_answer", status="pending") == 1
    assert value(samples, "lectern_ai_requests_open", prompt_key="rag_answer", status="awaiting_review") == 1

    haiku = {"provider": "anthropic", "model": "claude-haiku-4-5"}
    assert value(samples, "lectern_ai_tokens_total", kind="input", **haiku) == 1500
    assert value(samples, "lectern_ai_tokens_total", kind="output", **haiku) == 52
    assert value(samples, "lectern_ai_tokens_total", kind="cache_read", **haiku) == 1000
    assert value(samples, "lectern_ai_tokens_total", kind="cache_write", **haiku) == 400
    assert value(samples, "lectern_ai_cost_usd_total", **haiku) == pytest.approx(0.00236)
    assert value(samples, "lectern_ai_provider_calls_total", outcome="ok", error_code="", **haiku) == 2
    assert (
        value(samples, "lectern_ai_provider_calls_total", outcome="error", error_code="overloaded", **haiku)
        == 1
    )
    local = {"provider": "local", "model": "extractive-minilm"}
    assert value(samples, "lectern_ai_tokens_total", kind="input", **local) == 900
    assert value(samples, "lectern_ai_cost_usd_total", **local) == 0


def test_latency_histograms_are_cumulative_buckets_per_prompt(client):
    for latency_ms in (80, 400, 400, 3_000, 200_000):
        make_call(latency_ms=latency_ms)
    make_call(latency_ms=0, outcome="cache_hit")  # answered from the response cache: no provider latency
    make_call(latency_ms=0, outcome="approved_answer")  # answered from an approved answer: no call either
    for took_s in (0.3, 1.5, 1.5, 45):
        make_request("content_classify", AIRequest.Status.DONE, took_s=took_s)

    samples = scrape(client)

    call = {"operation": "generation", "prompt_key": "content_classify", "provider": "anthropic"}
    name = "lectern_ai_provider_call_duration_seconds"
    assert value(samples, f"{name}_bucket", le="0.1", **call) == 1
    assert value(samples, f"{name}_bucket", le="0.25", **call) == 1
    assert value(samples, f"{name}_bucket", le="0.5", **call) == 3
    assert value(samples, f"{name}_bucket", le="5.0", **call) == 4
    assert value(samples, f"{name}_bucket", le="120.0", **call) == 4
    assert value(samples, f"{name}_bucket", le="+Inf", **call) == 5
    assert value(samples, f"{name}_count", **call) == 5
    assert value(samples, f"{name}_sum", **call) == pytest.approx(203.88)

    done = {"prompt_key": "content_classify", "status": "done"}
    name = "lectern_ai_request_duration_seconds"
    assert value(samples, f"{name}_bucket", le="0.5", **done) == 1
    assert value(samples, f"{name}_bucket", le="2.5", **done) == 3
    assert value(samples, f"{name}_bucket", le="30.0", **done) == 3
    assert value(samples, f"{name}_bucket", le="60.0", **done) == 4
    assert value(samples, f"{name}_count", **done) == 4
    assert value(samples, f"{name}_sum", **done) == pytest.approx(48.3, abs=0.01)


def test_queue_depth_counts_messages_waiting_in_the_broker(client, settings):
    from ai_core.tasks import heartbeat

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-depth"
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(queue)
    try:
        with tasks_routed_to(queue):  # no worker consumes this queue, so the messages wait
            assert value(scrape(client), "lectern_celery_queue_length", queue=queue) == 0
            for n in range(3):
                heartbeat.delay(f"metrics-depth-{n}")
            assert value(scrape(client), "lectern_celery_queue_length", queue=queue) == 3
    finally:
        broker.delete(queue)


def test_an_open_circuit_is_reported_with_its_openings(client, settings):
    from ai_core.resilience.runtime import breaker_for

    settings.AI_CORE = {
        **settings.AI_CORE,
        "GENERATION_PROVIDERS": {
            **settings.AI_CORE["GENERATION_PROVIDERS"],
            "anthropic": {
                "CLASS": "ai_core.providers.anthropic.AnthropicProvider",
                "OPTIONS": {"api_key": "x"},
            },
        },
    }
    breaker = breaker_for("anthropic", "claude-sonnet-4-6")
    for _ in range(settings.AI_CORE["CIRCUIT_BREAKER"]["THRESHOLD"]):
        breaker.record_failure()

    samples = scrape(client)

    sonnet = {"provider": "anthropic", "model": "claude-sonnet-4-6"}
    haiku = {"provider": "anthropic", "model": "claude-haiku-4-5"}
    assert value(samples, "lectern_ai_circuit_state", **sonnet) == 2
    assert value(samples, "lectern_ai_circuit_openings_total", **sonnet) == 1
    assert value(samples, "lectern_ai_circuit_state", **haiku) == 0
    assert value(samples, "lectern_ai_circuit_openings_total", **haiku) == 0


def test_a_dead_broker_still_serves_the_database_counters(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    make_request("content_classify", AIRequest.Status.DONE, took_s=1)

    samples = scrape(client)

    assert value(samples, "lectern_metrics_source_up", source="broker") == 0
    assert value(samples, "lectern_metrics_source_up", source="database") == 1
    assert value(samples, "lectern_ai_requests_total", prompt_key="content_classify") == 1
    assert not [name for name, _ in samples if name == "lectern_celery_queue_length"]


def test_without_a_token_the_answer_is_401_and_names_the_scheme(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"lectern_ai" not in response.content


def test_a_wrong_token_is_403(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert response.status_code == 403
    assert b"lectern_ai" not in response.content


def test_no_bearer_token_is_accepted_when_none_is_configured(client, settings):
    settings.LECTERN_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 403


def test_staff_who_may_view_usage_can_open_metrics_in_a_browser_and_others_cannot(client):
    users = get_user_model().objects
    editor = users.create_user("editor", "editor@example.com", "pw-editor-1", is_staff=True)
    client.force_login(editor)
    assert client.get("/metrics").status_code == 403

    editor.user_permissions.add(Permission.objects.get(codename="view_llmusagelog"))
    client.force_login(users.get(pk=editor.pk))  # fresh user: permissions are cached per object
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"lectern_metrics_source_up" in response.content


def test_metrics_refuses_post(client):
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
