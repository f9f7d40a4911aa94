"""Shared fixtures. Integration tests use the real PostgreSQL, Redis and a real Celery worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real ``celery worker`` process on the test database and the real Redis broker.

    Tests that use it must commit their rows (``transactional_db``) so the worker can see them.
    """
    from django.db import connection

    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    hostname = f"lectern-test-{os.getpid()}@localhost"
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)  # no leftovers from an aborted run
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "site_config",
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--pool=prefork",
                "-Q",
                queue,
                "--hostname",
                hostname,
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=REPO_ROOT,
            env=_worker_env(db_name),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    from site_config.celery_app import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited with {proc.returncode}:\n{log_path.read_text()}")
        if app.control.ping(destination=[hostname], timeout=0.5):
            break
    else:
        proc.kill()
        pytest.fail(f"celery worker did not start within 60 s:\n{log_path.read_text()}")
    proc.log_path = log_path
    proc.hostname = hostname
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def celery_live(celery_worker_process, settings):
    """Send tasks to the real worker instead of running them inline."""
    from site_config.celery_app import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield celery_worker_process
    app.conf.task_always_eager = previous
