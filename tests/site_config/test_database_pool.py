"""``DATABASE_POOL`` for the ASGI web server: under uvicorn every request runs in a thread of its own,
so persistent per-thread connections pile up until PostgreSQL refuses clients (found by
``bench/http_throughput.py``). With the pool the server holds at most its pool's size."""

import secrets
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import start_web_server, stop_celery_worker

POOL_SIZE = 4


def server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def terminate_server_connections() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.mark.django_db(transaction=True)
def test_web_server_with_pool_keeps_to_its_pool_size_and_survives_dropped_connections(tmp_path):
    server = start_web_server(
        log_path=tmp_path / "web.log",
        extra_env={"DATABASE_POOL": "true", "DATABASE_POOL_MAX_SIZE": str(POOL_SIZE)},
        workers=1,
    )
    # Any session cookie makes the poll view load the session (and so query the database); an
    # unknown request id then answers 404. A 500 would mean no connection could be had.
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={secrets.token_hex(16)}"}
    path = f"/api/ai/requests/{'0' * 8}-0000-4000-8000-{'0' * 12}/"

    def poll(_):
        return httpx.get(f"{server.url}{path}", headers=cookie, timeout=30).status_code

    try:
        with ThreadPoolExecutor(max_workers=16) as threads:
            codes = list(threads.map(poll, range(64)))
        held = server_connections()
        terminate_server_connections()  # what a PostgreSQL restart does to the pool
        after_drop = [poll(i) for i in range(POOL_SIZE + 2)]
    finally:
        stop_celery_worker(server)
    log = server.log_path.read_text()[-3000:]
    assert codes == [404] * 64, log
    assert 0 < held <= POOL_SIZE, f"{held} connections held by one web worker"
    assert after_drop == [404] * (POOL_SIZE + 2), log


def _new_connection():
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.django_db(transaction=True)
def test_the_checkout_check_passes_a_live_idle_connection_and_leaves_it_usable():
    from site_config.postgresql.base import idle_connection_problem

    conn = _new_connection()
    try:
        pid = conn.info.backend_pid
        assert idle_connection_problem(conn) == ""
        assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] == pid
        assert idle_connection_problem(conn) == ""  # the answer was read: the socket is quiet again
    finally:
        conn.close()


@pytest.mark.django_db(transaction=True)
def test_the_checkout_check_refuses_a_connection_the_server_terminated():
    from site_config.postgresql.base import idle_connection_problem

    conn = _new_connection()
    try:
        pid = conn.info.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # waits until it has exited
            assert cursor.fetchone()[0] is True
        assert "terminated or closed" in idle_connection_problem(conn)
    finally:
        conn.close()


@pytest.mark.django_db(transaction=True)
def test_the_checkout_check_refuses_a_connection_left_in_a_transaction_or_closed():
    from site_config.postgresql.base import idle_connection_problem

    conn = _new_connection()
    conn.autocommit = False
    conn.execute("SELECT 1")
    assert "not idle (INTRANS)" in idle_connection_problem(conn)
    conn.close()
    assert idle_connection_problem(conn) == "the connection is closed"
