"""Shared fixtures. Integration tests use the real PostgreSQL, Redis and a real Celery worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _worker_env(db_name: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="site_config.settings.test",
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db_name}",
        CELERY_TASK_ALWAYS_EAGER="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_celery_worker(*, queue: str, log_path: Path, extra_env: dict[str, str] | None = None):
    """Start a real ``celery worker`` process on the test database and the real Redis broker.

    Tests that use it must commit their rows (``transactional_db``) so the worker can see them.
    """
    from django.db import connection

    from site_config.celery_app import app

    hostname = f"lectern-{queue}-{os.getpid()}@localhost"
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)  # no leftovers from an aborted run
    env = {**_worker_env(connection.settings_dict["NAME"]), **(extra_env or {})}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "site_config", "worker", "--loglevel=INFO",
                "--concurrency=1", "--pool=prefork", "-Q", queue, "--hostname", hostname,
                "--without-mingle", "--without-gossip",
            ],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited with {proc.returncode}:\n{log_path.read_text()}")
        if app.control.ping(destination=[hostname], timeout=0.5):
            break
    else:
        stop_celery_worker(proc)
        pytest.fail(f"celery worker did not start within 60 s:\n{log_path.read_text()}")
    proc.log_path = log_path
    proc.hostname = hostname
    proc.queue = queue
    return proc


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


@contextmanager
def tasks_routed_to(queue: str):
    """Send tasks to ``queue`` (a specific worker) and not inline."""
    from site_config.celery_app import app

    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous


@pytest.fixture
def celery_live(celery_worker_process, settings):
    """Send tasks to the real worker instead of running them inline."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with tasks_routed_to(celery_worker_process.queue):
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
