"""The system under fault: a real web server and a real Celery worker, plus the visitor's HTTP view.

Built on ``tests.conftest.start_celery_worker`` / ``start_web_server`` (environment overrides
only), so the processes are exactly the ones the rest of the suite runs, pointed at whichever
Redis, broker or database the scenario is about to break.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from django.conf import settings

from ai_core.models import AIRequest
from tests.conftest import start_celery_worker, start_web_server, stop_celery_worker

from .servers import child_pids, signal_tree

FINISHED = frozenset({*AIRequest.TERMINAL, AIRequest.Status.AWAITING_REVIEW})
OPERATOR_TOKEN = "fault-suite-metrics-token-0123456789"


@dataclass(kw_only=True)
class FaultCounts:
    """What a scenario did to the visitor, for the summary table printed at the end of the run."""

    scenario: str
    attempted: int = 0
    completed: int = 0  # done (or awaiting review): the visitor got, or will get, an answer
    failed_cleanly: int = 0  # failed with a safe message
    lost: int = 0  # never reached a final state within the scenario's bound
    duplicated: int = 0  # extra successful usage rows, double budget charges, duplicate chunks
    http_500: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def tally(self, statuses: list[str]) -> None:
        self.attempted = len(statuses)
        self.completed = sum(s in (AIRequest.Status.DONE, AIRequest.Status.AWAITING_REVIEW) for s in statuses)
        self.failed_cleanly = sum(s == AIRequest.Status.FAILED for s in statuses)
        self.lost = sum(s not in FINISHED for s in statuses)


class FaultStack:
    """A web server and a worker sharing a queue and a Redis namespace (their own ``LECTERN_TEST_ID``).

    ``env`` reaches both processes; pass ``REDIS_URL`` / ``CELERY_BROKER_URL`` / ``DATABASE_URL`` to
    put them on a private server. The worker can be killed and replaced with the same settings.
    """

    def __init__(self, name: str, *, logs: Path, env: dict[str, str]) -> None:
        self.name = name
        self.test_id = f"{os.environ.get('LECTERN_TEST_ID', 'main')}-{name}"
        self.queue = f"lectern-test-{self.test_id}"
        self.prefix = f"lectern-test-{self.test_id}"  # AI_CORE["REDIS_PREFIX"] of the subprocesses
        self.logs = logs
        self.env = {
            "LECTERN_TEST_ID": self.test_id,
            "OPENBLAS_NUM_THREADS": "1",
            "LECTERN_METRICS_TOKEN": OPERATOR_TOKEN,  # /healthz details (circuits) for the operator
            **env,
        }
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self._workers_started = 0
        self.http_500 = 0

    @property
    def redis_url(self) -> str:
        return self.env.get("REDIS_URL", settings.REDIS_URL)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_connect_timeout=1, socket_timeout=5)

    def start(self, *, web: bool = True) -> FaultStack:
        client = self.redis()
        stale = list(client.scan_iter(match=f"{self.prefix}:*"))  # left by an earlier, aborted run
        if stale:
            client.delete(*stale)
        self.start_worker()
        if web:
            self.web = start_web_server(log_path=self.logs / "web.log", extra_env=self.env, workers=1)
        return self

    def start_worker(self) -> subprocess.Popen:
        self._workers_started += 1
        log = self.logs / f"worker-{self._workers_started}.log"
        self.worker = start_celery_worker(queue=self.queue, log_path=log, extra_env=self.env)
        return self.worker

    def task_process_pid(self) -> int:
        """The prefork pool process that runs tasks (``--concurrency=1``: there is one)."""
        (pid,) = child_pids(self.worker.pid)
        return pid

    def kill_task_process(self) -> int:
        pid = self.task_process_pid()
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_worker(self) -> None:
        """SIGKILL the whole worker (main process and pool): the node is gone, nothing is acked."""
        signal_tree(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=20)

    def run_beat_task(self, name: str) -> None:
        """Queue task ``name`` as Celery beat would, on this stack's broker and queue (the fault
        stacks run no beat of their own)."""
        from celery import Celery

        app = Celery(
            "lectern-fault-beat",
            broker=self.env.get("CELERY_BROKER_URL") or self.redis_url,
            set_as_current=False,
        )
        try:
            app.send_task(name, queue=self.queue)
        finally:
            app.close()

    def worker_log_full(self) -> str:
        """Every worker log of this stack, whole, in the order the workers started."""
        return "\n".join(path.read_text() for path in sorted(self.logs.glob("worker-*.log")))

    def worker_log(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-4000:]}" for path in sorted(self.logs.glob("worker-*.log"))
        )

    def stop(self) -> None:
        for proc in (self.web, self.worker):
            if proc is not None:
                stop_celery_worker(proc)

    # -- the visitor's side ------------------------------------------------------------------------
    def visitor(self) -> Visitor:
        return Visitor(self)


class Visitor:
    """An anonymous browser session: CSRF cookie first, then JSON calls, counting HTTP 500s."""

    def __init__(self, stack: FaultStack) -> None:
        self.stack = stack
        self.http = httpx.Client(base_url=stack.web.url, timeout=30)
        self.csrf = self._call("GET", "/api/ai/csrf/").json()["csrf_token"]

    def _call(self, method: str, url: str, **kwargs) -> httpx.Response:
        response = self.http.request(method, url, **kwargs)
        if response.status_code == 500:
            self.stack.http_500 += 1
        return response

    def ask(self, question: str) -> httpx.Response:
        return self._call(
            "POST", "/api/ai/ask/", json={"question": question}, headers={"X-CSRFToken": self.csrf}
        )

    def cancel(self, request_id: str) -> httpx.Response:
        """The Stop button."""
        return self._call(
            "POST", f"/api/ai/requests/{request_id}/cancel/", headers={"X-CSRFToken": self.csrf}
        )

    def status(self, request_id: str) -> dict:
        return self._call("GET", f"/api/ai/requests/{request_id}/").json()

    def healthz(self, *, as_operator: bool = False) -> httpx.Response:
        """A 503 naming what is down is the expected answer here. Details (errors, circuits) are
        shown only with the metrics token: ``as_operator``."""
        headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"} if as_operator else {}
        return self.http.get("/healthz", headers=headers)

    def close(self) -> None:
        self.http.close()


def wait_all_finished(
    request_ids: list[str],
    *,
    timeout: float,
    tick: Callable[[], None] | None = None,
    tick_every: float = 10.0,
) -> dict[str, str]:
    """Poll the database until every request is final or ``timeout`` passes; return the statuses.

    ``tick`` (e.g. queueing a beat task) runs at the start and every ``tick_every`` seconds while
    requests are open, as beat runs its schedule alongside the workers."""
    deadline = time.monotonic() + timeout
    next_tick = time.monotonic()
    while True:
        statuses = dict(AIRequest.objects.filter(pk__in=request_ids).values_list("pk", "status").iterator())
        statuses = {str(pk): status for pk, status in statuses.items()}
        if all(statuses.get(rid) in FINISHED for rid in request_ids) or time.monotonic() > deadline:
            return {rid: statuses.get(rid, "missing") for rid in request_ids}
        if tick is not None and time.monotonic() >= next_tick:
            tick()
            next_tick = time.monotonic() + tick_every
        time.sleep(0.25)
