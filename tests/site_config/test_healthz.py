import pytest


@pytest.mark.django_db
def test_healthz_is_503_and_names_redis_when_redis_is_unreachable(client, settings, celery_live):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "redis" in body["down"]
    assert body["checks"]["redis"]["ok"] is False
    assert "ConnectionError" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_200_with_database_pgvector_redis_and_a_live_worker(client, celery_live):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["down"] == []
    assert body["checks"]["pgvector"]["version"].startswith("0.")
    assert celery_live.hostname in body["checks"]["celery"]["workers"]


@pytest.mark.django_db
def test_healthz_rejects_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_healthz_shows_circuit_breaker_state(client, settings):
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
    circuits = {c["name"]: c for c in client.get("/healthz").json()["circuits"]}
    assert circuits["anthropic:claude-sonnet-4-6"]["state"] == "open"
    assert circuits["anthropic:claude-sonnet-4-6"]["openings"] == 1
    assert circuits["anthropic:claude-haiku-4-5"]["state"] == "closed"
