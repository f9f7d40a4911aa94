"""``/healthz`` over HTTP on a real uvicorn process: it never waits on the Celery broadcast ping and
never shows a stranger what is failing."""

import concurrent.futures
import socket
import time

import httpx
import pytest

from tests.conftest import start_web_server, stop_celery_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "healthz-server-token-0123456789abcdef"


@pytest.fixture(scope="module")
def hung_broker():
    """A TCP port that accepts connections (the kernel's backlog) and never answers: a broker that
    hangs rather than refuses, so every ping through it waits for its whole timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    sock.close()


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker, tmp_path_factory, hung_broker):
    with django_db_blocker.unblock():
        proc = start_web_server(
            log_path=tmp_path_factory.mktemp("healthz") / "web.log",
            extra_env={"CELERY_BROKER_URL": hung_broker, "LECTERN_METRICS_TOKEN": TOKEN},
            workers=1,
        )
    yield proc
    stop_celery_worker(proc)


def timed_get(url: str, **headers) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = httpx.get(url, headers=headers, timeout=10)
    return time.monotonic() - started, response


def concurrent_gets(url: str, n: int = 2) -> list[tuple[float, httpx.Response]]:
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: timed_get(url), range(n)))


def test_two_concurrent_calls_answer_fast_while_the_broker_hangs(web):
    # The very first calls of the process: the quick probes run, the worker ping does not hold them.
    first = concurrent_gets(f"{web.url}/healthz")
    for seconds, response in first:
        assert seconds < 0.9, f"/healthz took {seconds:.2f} s (the ping waits 1 s)"
        assert response.status_code == 503
        assert response.json()["checks"]["database"] == "ok"
        assert response.json()["checks"]["celery"] in {"pending", "down"}
    wait_for(
        lambda: httpx.get(f"{web.url}/healthz", timeout=10).json()["checks"]["celery"] == "down",
        timeout=15,
        message="the hung broker was never reported down",
    )
    # Later calls answer from the cached result while the next ping is (again) stuck on the broker.
    for _ in range(3):
        for seconds, response in concurrent_gets(f"{web.url}/healthz"):
            assert seconds < 0.5, f"/healthz took {seconds:.2f} s"
            assert response.json()["down"] == ["celery"]


def test_anonymous_callers_get_states_only_and_the_token_gets_the_error(web):
    wait_for(
        lambda: httpx.get(f"{web.url}/healthz", timeout=10).json()["checks"]["celery"] == "down",
        timeout=15,
    )
    anonymous = httpx.get(f"{web.url}/healthz", timeout=10)
    assert anonymous.status_code == 503
    assert anonymous.json()["checks"] == {"database": "ok", "pgvector": "ok", "redis": "ok", "celery": "down"}
    assert "details" not in anonymous.json() and "Timeout" not in anonymous.text
    detailed = httpx.get(f"{web.url}/healthz", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert "Timeout" in detailed.json()["details"]["celery"]["error"]
    assert detailed.json()["details"]["pgvector"]["version"].startswith("0.")
