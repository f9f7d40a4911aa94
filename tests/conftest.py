"""Shared fixtures. Integration tests use the real PostgreSQL, Redis and a real Celery worker process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings

from tests.fake_provider import FakeProviderServer

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture(autouse=True)
def _celery_join_guard_reset():
    """Celery's "never call get() within a task" guard is one flag for the whole process, set and
    restored around every eager task. Two threads running eager tasks at once (an in-process server
    thread and the test) can restore it in the wrong order and leave it raised, which then refuses
    an unrelated later test's ``result.get()``. Each test starts with it lowered, as outside a task."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield


@pytest.fixture(autouse=True)
def _fresh_log_context():
    """Each test starts with an empty log context, as each HTTP request and task does. What a test
    binds outside one (``ai_request_submit`` binds the new request's id) must not tag the lines of
    the tests after it: a 404 line names the id in its URL only when nothing else is bound."""
    from ai_core.logcontext import fresh_log_context

    with fresh_log_context():
        yield


@pytest.fixture(autouse=True)
def _fresh_ai_redis_state():
    """Budgets, breakers, caches and rate limits start empty in every test (test prefix only)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.AI_CORE["REDIS_PREFIX"]
    assert prefix.startswith("lectern-test"), "tests must never touch the dev site's Redis state"
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    # The live-prompt cache trusts its stamp for a few seconds; with the stamp just deleted, a
    # prompt an earlier test stored (and flushed) must not outlive that test in this process.
    from ai_core.live_prompts.cache import StampedCache

    for cache in list(StampedCache.instances):
        cache.clear()


@pytest.fixture(autouse=True)
def _no_term_statistics_copy():
    """Each test reads the chunk table's term statistics afresh, as a new process would. A copy kept
    from an earlier test could hold statistics that test's rolled-back ANALYZE made: the stamp it is
    checked against (the last ANALYZE's time) is not rolled back."""
    from ai_core.rag import selectors

    selectors._term_statistics.clear()


def _worker_env(db_name: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "site_config.settings.test"),
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db_name}",
        CELERY_TASK_ALWAYS_EAGER="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_celery_worker(
    *,
    queue: str,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    workloads: tuple[str, ...] | None = None,
    name: str = "",
    concurrency: int = 1,
    clear_queues: bool = True,
):
    """Start a real ``celery worker`` process on the test database and the real Redis broker.

    ``queue`` is a default queue; the worker consumes it and its workload queues
    (``site_config.celery_routes.worker_queues``): all of them, or only ``workloads``. A task
    routed to a queue nobody consumes would never run, and the test would only time out.
    ``name`` tells apart two workers on the same queues (their ``--hostname``); ``clear_queues``
    empties the queues first (off for a second worker, or a restarted one, joining queued work).
    Tests that use it must commit their rows (``transactional_db``) so the worker can see them.
    """
    from django.db import connection

    from site_config.celery_app import WARMED_UP, app
    from site_config.celery_routes import worker_queues

    hostname = f"lectern-{queue}{f'-{name}' if name else ''}-{os.getpid()}@localhost"
    queues = worker_queues(queue, workloads=workloads)
    env = {**_worker_env(connection.settings_dict["NAME"]), **(extra_env or {})}
    # A worker given its own broker (tests/faults) is cleaned up and pinged through that broker.
    broker_url = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or settings.CELERY_BROKER_URL
    if clear_queues:
        # No leftovers from an aborted run: messages, and kombu's routing tables for these queues
        # (the worker declares its bindings again as it starts).
        bindings = [f"_kombu.{kind}.{q}" for q in queues for kind in ("binding", "binding_permanent")]
        redis.Redis.from_url(broker_url).delete(*queues, *bindings)
    # Control messages go out through the app's own producer pool, so another broker needs another app.
    pinger = (
        app
        if broker_url == settings.CELERY_BROKER_URL
        else Celery("lectern-ping", broker=broker_url, set_as_current=False)
    )
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "site_config", "worker", "--loglevel=INFO",
                f"--concurrency={concurrency}", "--pool=prefork", "-Q", ",".join(queues),
                "--hostname", hostname, "--without-mingle", "--without-gossip",
            ],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited with {proc.returncode}:\n{log_path.read_text()}")
        # The main process answers pings before its pool processes have warmed up (MiniLM's
        # weights, seconds under load); a test timing its first task must not count that.
        if log_path.read_text().count(WARMED_UP) >= concurrency and pinger.control.ping(
            destination=[hostname], timeout=0.5
        ):
            break
        time.sleep(0.1)
    else:
        stop_celery_worker(proc)
        pytest.fail(f"celery worker did not start within 60 s:\n{log_path.read_text()}")
    if pinger is not app:
        pinger.close()
    proc.log_path = log_path
    proc.hostname = hostname
    proc.queue = queue
    proc.queues = queues
    proc.broker_url = broker_url
    _LIVE_WORKERS.append(proc)
    return proc


# Workers started by start_celery_worker, so a test's teardown can wait for them to go idle.
_LIVE_WORKERS: list = []
IDLE_WAIT_S = 15.0


def _worker_busy(client: redis.Redis, queue: str | list[str]) -> bool:
    """Messages still queued, or taken but not yet acknowledged (every task acks late, so a task in
    progress keeps its message in kombu's ``unacked`` hash, routed by queue name). ``queue``: a
    list of queues, or a default queue standing for itself and all its workload queues."""
    from site_config.celery_routes import worker_queues

    queues = worker_queues(queue) if isinstance(queue, str) else queue
    if any(client.llen(name) for name in queues):
        return True
    return any(json.loads(raw)[2] in queues for raw in client.hvals("unacked"))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    """Before a test's fixtures are torn down, let live workers finish what the test set off.

    A request is "done" for the test once its row says so, but the worker may still be settling
    its budget or running the alert check it queued. A transactional test's teardown TRUNCATEs
    every table, and that racing a worker's query ends in a PostgreSQL deadlock (seen in CI).
    """
    try:
        _wait_for_live_workers_idle()
    finally:
        yield  # teardown must run whatever happened above


def _wait_for_live_workers_idle() -> None:
    _LIVE_WORKERS[:] = [proc for proc in _LIVE_WORKERS if proc.poll() is None]
    deadline = time.monotonic() + IDLE_WAIT_S
    for proc in _LIVE_WORKERS:
        client = redis.Redis.from_url(proc.broker_url)
        try:
            while _worker_busy(client, proc.queues) and time.monotonic() < deadline:
                time.sleep(0.05)
        # A fault test stopped this broker on purpose, or the test forbids sockets until its own
        # fixtures are torn down: then there is nothing to wait for.
        except (redis.RedisError, AssertionError, OSError):
            pass
        finally:
            client.close()


def stop_celery_worker(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """The default test worker (local provider), shared by the session."""
    with django_db_blocker.unblock():
        proc = start_celery_worker(
            queue=settings.CELERY_TASK_DEFAULT_QUEUE,
            log_path=tmp_path_factory.mktemp("celery") / "worker.log",
        )
    yield proc
    stop_celery_worker(proc)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web_server(*, log_path: Path, extra_env: dict[str, str] | None = None, workers: int = 2):
    """The ASGI app under uvicorn, on the test database, as a real server process."""
    import httpx
    from django.db import connection

    port = free_port()
    # Pooled connections, as `make demo` and compose run the web server (settings/base.py).
    env = {**_worker_env(connection.settings_dict["NAME"]), "DATABASE_POOL": "true", **(extra_env or {})}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            # --no-proxy-headers as deployed: which proxies to believe is LECTERN_TRUSTED_PROXIES' call.
            [sys.executable, "-m", "uvicorn", "site_config.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(workers), "--no-proxy-headers"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    proc.url = f"http://127.0.0.1:{port}"
    proc.log_path = log_path
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"web server exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            httpx.get(f"{proc.url}/api/ai/csrf/", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_celery_worker(proc)
    pytest.fail(f"web server did not start:\n{log_path.read_text()}")


@contextmanager
def live_stack(name: str, *, fake_url: str, django_db_blocker, tmp_path_factory, **extra_env: str):
    """A web server and a worker that share Celery queues and a Redis namespace (their own
    ``LECTERN_TEST_ID``), generating through the fake Anthropic server at ``fake_url``. The worker
    consumes every workload queue of that test id.

    Yields the web server process, with ``.worker`` and ``.queue`` attached.
    """
    test_id = f"{os.environ.get('LECTERN_TEST_ID', 'main')}-{name}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    stale = list(client.scan_iter(match=f"lectern-test-{test_id}:*"))  # left by an earlier run
    if stale:
        client.delete(*stale)
    env = {
        "LECTERN_TEST_ID": test_id,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": fake_url,
        "OPENBLAS_NUM_THREADS": "1",
        **extra_env,
    }
    logs = tmp_path_factory.mktemp(name)
    queue = f"lectern-test-{test_id}"
    with django_db_blocker.unblock():
        worker = start_celery_worker(queue=queue, log_path=logs / "worker.log", extra_env=env)
        web = start_web_server(log_path=logs / "web.log", extra_env=env, workers=1)
    web.worker, web.queue = worker, queue
    try:
        yield web
    finally:
        stop_celery_worker(web)
        stop_celery_worker(worker)


@contextmanager
def tasks_routed_to(queue: str):
    """Send tasks to ``queue`` and its workload queues (a specific worker's), not inline: the
    router names every workload queue after the default queue (site_config/celery_routes.py)."""
    from site_config.celery_app import app

    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous


@pytest.fixture
def unread_queues():
    """A default queue no worker consumes, for ``tasks_routed_to``: what is sent there is left in
    Redis to be read. Yields (the default queue's name, a Redis client); the router adds
    ``.<workload>`` to it. Deleted at the end."""
    import uuid

    from site_config.celery_routes import worker_queues

    base = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-unread-{uuid.uuid4().hex[:6]}"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield base, client
    client.delete(*worker_queues(base))


@pytest.fixture
def unconsumed_queues(unread_queues):
    """``unread_queues``, with every task of the test sent there instead of run inline."""
    with tasks_routed_to(unread_queues[0]):
        yield unread_queues


def queued_headers(client: redis.Redis, queue: str) -> list[dict]:
    """The Celery headers (task, id, retries, eta, argsrepr, custom headers) of every message
    waiting in ``queue``, oldest last as the Redis transport stores them."""
    return [json.loads(raw)["headers"] for raw in client.lrange(queue, 0, -1)]


def tasks_in(client: redis.Redis, queue: str) -> list[tuple[str, str]]:
    """(task name, its arguments as Celery logs them) of every message waiting in ``queue``."""
    return [(h["task"], h["argsrepr"]) for h in queued_headers(client, queue)]


@pytest.fixture
def celery_live(celery_worker_process, settings):
    """Send tasks to the real worker instead of running them inline."""
    # Route before changing the setting: Celery's config reads Django settings, so captured after
    # the change, the "previous" eager flag that tasks_routed_to restores would be False, and every
    # later test in the process would queue its tasks instead of running them inline.
    with tasks_routed_to(celery_worker_process.queue):
        settings.CELERY_TASK_ALWAYS_EAGER = False
        yield celery_worker_process


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.05, message: str = ""):
    """Poll ``predicate`` until it returns something truthy; fail with ``message`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(message or f"condition not met within {timeout} s")


# --- The fake provider server (Anthropic and OpenAI wire protocols) over HTTP on 127.0.0.1.


@pytest.fixture(scope="session")
def fake_provider_server() -> Iterator[FakeProviderServer]:
    """One server per test session: binding a port per test would only slow the suite down."""
    server = FakeProviderServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_provider(fake_provider_server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    """The shared server, wiped before and after each test so scripts and caches never leak."""
    fake_provider_server.reset()
    yield fake_provider_server
    fake_provider_server.reset()


def generate_with_fake_claude(settings, fake: FakeProviderServer, **ai_core: object) -> None:
    """This process's AI settings: Anthropic's SDK pointed at ``fake`` as the only generation
    provider (no local fallback), plus ``ai_core`` overrides. The built providers are forgotten,
    so the next call builds its client from these settings; reset them again after the test."""
    from ai_core.providers import reset_providers

    settings.AI_CORE = {
        **settings.AI_CORE,
        "GENERATION_PROVIDERS": {
            **settings.AI_CORE["GENERATION_PROVIDERS"],
            "anthropic": {
                "CLASS": "ai_core.providers.anthropic.AnthropicProvider",
                "OPTIONS": {"api_key": "sk-ant-test", "base_url": fake.base_url, "max_retries": 0},
            },
        },
        "DEFAULT_GENERATION_PROVIDER": "anthropic",
        "FALLBACK_TO_LOCAL": False,
        **ai_core,
    }
    reset_providers()


@pytest.fixture
def fake_provider_url(fake_provider: FakeProviderServer) -> str:
    """Root URL: Anthropic's ``base_url`` as is; OpenAI clients append ``/v1``."""
    return fake_provider.base_url
