"""Fixtures of the fault suite (``pytest -m faults``, ``make faults``): private servers to break,
and the table of counts printed at the end of the run.

Where the pytest process looks: scenarios that break Redis or kill workers keep the shared test
database, so assertions use the ORM as everywhere else (the stack's processes get their own
Redis or broker through the environment). The PostgreSQL scenario puts the worker on a private
cluster and checks it over a plain psycopg connection: repointing this process's Django
connection mid-session would be the more surprising choice.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

from .servers import PrivatePostgres, PrivateRedis
from .stack import FaultCounts, FaultStack

RESULTS: list[FaultCounts] = []


@pytest.fixture
def fault_counts(request):
    """The scenario's counts; recorded for the summary even when the test fails half-way."""
    counts = FaultCounts(scenario=request.node.name.removeprefix("test_"))
    yield counts
    RESULTS.append(counts)


def pytest_terminal_summary(terminalreporter) -> None:
    if not RESULTS:
        return
    columns = ("attempted", "completed", "failed_cleanly", "lost", "duplicated", "http_500", "seconds")
    width = max(len(r.scenario) for r in RESULTS)
    terminalreporter.section("fault suite: what visitors saw")
    terminalreporter.write_line(f"{'scenario':<{width}}  " + "  ".join(f"{c:>14}" for c in columns))
    for result in RESULTS:
        cells = [
            f"{getattr(result, c):>14.1f}" if c == "seconds" else f"{getattr(result, c):>14}" for c in columns
        ]
        terminalreporter.write_line(f"{result.scenario:<{width}}  " + "  ".join(cells))
        for note in result.notes:
            terminalreporter.write_line(f"{'':<{width}}  - {note}")


@pytest.fixture
def private_redis():
    """A Redis with an append-only file, as production should run it; the test may restart it.
    ``LECTERN_FAULTS_REDIS_APPENDONLY=no`` runs it as docker-compose.yml does, to see what is lost."""
    server = PrivateRedis(appendonly=os.environ.get("LECTERN_FAULTS_REDIS_APPENDONLY", "yes") != "no")
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def private_postgres_cluster():
    """A migrated PostgreSQL 15 + pgvector cluster of our own (about 15 s, once per session)."""
    server = PrivatePostgres()
    try:
        server.init()
        env = {"DATABASE_URL": server.url, "DJANGO_SETTINGS_MODULE": "site_config.settings.test"}
        run_manage(["migrate", "--noinput", "-v0"], env=env, timeout=300)
        yield server
    finally:
        server.close()


def run_manage(args: list[str], *, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if result.returncode:
        pytest.fail(f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def run_module(module: str, *args: str, env: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO_ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if result.returncode:
        pytest.fail(f"{module} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


@pytest.fixture
def fault_stack(django_db_blocker, tmp_path_factory):
    """Build a :class:`FaultStack` (web + worker) with the scenario's environment; stopped afterwards."""
    stacks: list[FaultStack] = []

    def build(name: str, *, web: bool = True, **env: str) -> FaultStack:
        stack = FaultStack(name, logs=tmp_path_factory.mktemp(name), env=env)
        stacks.append(stack)
        with django_db_blocker.unblock():
            return stack.start(web=web)

    yield build
    for stack in stacks:
        stack.stop()
