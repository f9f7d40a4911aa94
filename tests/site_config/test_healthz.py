"""``/healthz`` in process: answers from the refresher's cached result, details only for the
metrics token or staff. (Over HTTP against a live server: ``test_healthz_server.py``.)"""

import time

import pytest

from site_config.health import health_cache
from tests.conftest import wait_for

TOKEN = "healthz-token-for-tests-0123456789abcdef"
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def fresh_health_cache(settings):
    """Each test starts its own refresher (and its own settings); none outlives the test."""
    settings.LECTERN_METRICS_TOKEN = TOKEN
    health_cache().stop()
    yield
    health_cache().stop()


@pytest.mark.django_db
def test_redis_down_is_503_naming_redis_without_the_error_text_for_anonymous_callers(client, settings):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "redis" in body["down"]
    assert body["checks"]["redis"] == "down" and body["checks"]["database"] == "ok"
    assert "details" not in body and "circuits" not in body
    assert "Error" not in response.content.decode() and "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_the_metrics_token_sees_the_exception_text(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    body = client.get("/healthz", **BEARER).json()
    assert "ConnectionError" in body["details"]["redis"]["error"]
    assert body["details"]["database"]["ok"] is True


@pytest.mark.django_db
def test_a_wrong_token_gets_the_anonymous_answer(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert response.status_code == 503
    assert "details" not in response.json()


@pytest.mark.django_db
def test_with_a_live_worker_it_turns_200_and_staff_see_the_worker_and_pgvector(
    client, celery_live, django_user_model
):
    # The worker ping runs in the background: until its first answer celery is "pending" (503).
    wait_for(lambda: client.get("/healthz").status_code == 200, timeout=15, message="never became healthy")
    anonymous = client.get("/healthz").json()
    assert anonymous["checks"] == {"database": "ok", "pgvector": "ok", "redis": "ok", "celery": "ok"}
    assert anonymous["down"] == [] and "details" not in anonymous
    staff = django_user_model.objects.create_user("ops", "ops@example.com", "pw-ops-12345", is_staff=True)
    client.force_login(staff)
    details = client.get("/healthz").json()["details"]
    assert details["pgvector"]["version"].startswith("0.")
    assert celery_live.hostname in details["celery"]["workers"]


@pytest.mark.django_db
def test_a_signed_in_non_staff_user_sees_no_details(client, django_user_model):
    user = django_user_model.objects.create_user("reader", "r@example.com", "pw-reader-123")
    client.force_login(user)
    assert "details" not in client.get("/healthz").json()


@pytest.mark.django_db
def test_healthz_rejects_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_circuit_breaker_state_is_shown_to_the_token_only(client, settings):
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
    assert "circuits" not in client.get("/healthz").json()
    circuits = {c["name"]: c for c in client.get("/healthz", **BEARER).json()["circuits"]}
    assert circuits["anthropic:claude-sonnet-4-6"]["state"] == "open"
    assert circuits["anthropic:claude-sonnet-4-6"]["openings"] == 1
    assert circuits["anthropic:claude-haiku-4-5"]["state"] == "closed"


@pytest.mark.django_db
def test_results_are_cached_so_a_burst_of_calls_runs_the_probes_once(client, monkeypatch):
    from site_config import health

    calls = []
    monkeypatch.setitem(health.QUICK_PROBES, "redis", lambda: calls.append(1) or {})
    started = time.monotonic()
    for _ in range(20):
        client.get("/healthz")
    rounds = 1 + int((time.monotonic() - started) / health.CACHE_S)  # 1 unless the machine is slow
    assert 1 <= len(calls) <= rounds


@pytest.mark.django_db
def test_a_probe_that_hangs_is_reported_down_once_overdue_not_left_at_its_last_good_result(
    client, monkeypatch
):
    """A network cut holds a database probe until the connection's network timeout; meanwhile the
    round's earlier result must not keep telling the load balancer that all is well."""
    import threading

    from site_config import health

    hang, release = threading.Event(), threading.Event()

    def redis_probe():
        if hang.is_set():
            release.wait(30)
        return {}

    monkeypatch.setattr(health, "PROBE_OVERDUE_S", 0.5)
    monkeypatch.setattr(health, "CACHE_S", 0.2)
    monkeypatch.setitem(health.QUICK_PROBES, "redis", redis_probe)
    monkeypatch.setitem(health.SLOW_PROBES, "celery", lambda: {})
    try:
        wait_for(lambda: client.get("/healthz").status_code == 200, timeout=10)
        hang.set()
        wait_for(lambda: client.get("/healthz").json()["checks"]["redis"] == "down", timeout=10,
                 message="a hung probe was never reported down")  # fmt: skip
        details = client.get("/healthz", **BEARER).json()["details"]["redis"]
        assert details["ok"] is False and details["error"].startswith("no answer after")
        hang.clear()
        release.set()
        wait_for(lambda: client.get("/healthz").status_code == 200, timeout=10,
                 message="/healthz did not recover once the probe answered")  # fmt: skip
    finally:
        release.set()
