"""``/healthz/live``: liveness only, so it must answer even when the dependencies are down."""


def test_live_answers_ok_without_touching_the_database(client):
    # No django_db mark: any query in the view (or its middleware) would fail this test.
    response = client.get("/healthz/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_live_stays_up_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert client.get("/healthz/live").status_code == 200


def test_live_rejects_post(client):
    assert client.post("/healthz/live").status_code == 405
