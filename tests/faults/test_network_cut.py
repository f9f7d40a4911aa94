"""The web host's network to PostgreSQL and Redis is cut silently, as a partition or a dropped
NAT entry does (no FIN, no RST: packets just stop), then heals.

The web server runs in a network namespace of its own (``tests/faults/netns.py``): it reaches a
private PostgreSQL cluster and a private Redis over TCP on that namespace's loopback, through
forwarders, and the test talks to it over a Unix socket. Taking that loopback down is the cut.
The worker runs outside, on the same servers, and is not cut.

What a visitor and the load balancer must see: every request answered within a bound (an error
is fine, a hang is not: TCP alone would retransmit for about 15 minutes before giving up), no HTTP
500, ``/healthz`` reporting the outage instead of its last good result, and after the network
heals the site serving again by itself, with nothing accepted lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import (
    REPO_ROOT,
    _worker_env,
    free_port,
    start_celery_worker,
    stop_celery_worker,
    wait_for,
)

from .servers import PrivateRedis
from .stack import FINISHED

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# No request may take longer than this while the network is cut (TCP's own give-up is ~15 min).
ANSWER_BOUND_S = 20.0
CUT_FOR_S = 25.0
# /healthz turns 503 within this of the cut: a probe round starts every CACHE_S (5 s) and a probe
# with no answer after PROBE_OVERDUE_S (4 s) counts as down.
HEALTHZ_BOUND_S = 12.0


def _netns_run(pid: int, *args: str) -> None:
    subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", *args], check=True, capture_output=True, timeout=10
    )


class CutWeb:
    """uvicorn in its own network namespace, reachable over a Unix socket."""

    def __init__(self, *, env: dict[str, str], forwards: dict[int, str], logs) -> None:
        self.socket = str(logs / "web.sock")
        self.log_path = logs / "web.log"
        command = [
            "unshare", "--net", "--fork", "--kill-child", "--",
            sys.executable, "-m", "tests.faults.netns",
            *[arg for port, path in forwards.items() for arg in ("--forward", f"{port}={path}")],
            "--", sys.executable, "-m", "uvicorn", "site_config.asgi:application", "--uds", self.socket,
            "--workers", "1", "--no-proxy-headers",
        ]  # fmt: skip
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.http = self.client()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"web server exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                self.http.get("/api/ai/csrf/", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail(f"web server did not start:\n{self.log_path.read_text()}")
                time.sleep(0.2)

    def client(self) -> httpx.Client:
        """A client of its own (its own cookies) over the server's Unix socket."""
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=self.socket), base_url="http://localhost", timeout=120
        )

    def bare_get(self, path: str) -> httpx.Response:
        """A request without the visitor's cookies, as a load balancer's health check sends it."""
        with self.client() as client:
            return client.get(path)

    @property
    def namespace_pid(self) -> int:
        """The process inside the namespace (``unshare --fork`` stays outside)."""
        children = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True
        ).stdout.split()
        return int(children[0])

    def cut(self) -> None:
        _netns_run(self.namespace_pid, "ip", "link", "set", "lo", "down")

    def heal(self) -> None:
        _netns_run(self.namespace_pid, "ip", "link", "set", "lo", "up")

    def stop(self) -> None:
        self.http.close()
        stop_celery_worker(self.proc)


def _timed(call):
    started = time.monotonic()
    try:
        response = call()
        outcome = response.status_code
    except httpx.HTTPError as err:
        outcome = type(err).__name__
    return outcome, round(time.monotonic() - started, 1)


def _statuses(cluster, ids: list[str], *, timeout: float) -> dict[str, str]:
    """Each request's status in the private cluster once all are final, or when ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        with cluster.connect() as conn:
            rows = conn.execute(
                "SELECT id::text, status FROM ai_core_airequest WHERE id::text = ANY(%s)", [ids]
            )
            statuses = dict(rows.fetchall())
        if all(statuses.get(i) in FINISHED for i in ids) or time.monotonic() > deadline:
            return {i: statuses.get(i, "missing") for i in ids}
        time.sleep(0.25)


def test_a_silent_network_cut_gets_answers_not_hangs_and_heals_by_itself(
    private_postgres_cluster, tmp_path_factory, django_db_blocker, fault_counts
):
    started = time.monotonic()
    logs = tmp_path_factory.mktemp("network-cut")
    cluster = private_postgres_cluster
    redis_server = PrivateRedis(appendonly=True, unix_socket=True)
    redis_server.start()
    web = worker = None
    try:
        test_id = f"{os.environ.get('LECTERN_TEST_ID', 'main')}-network-cut"
        inside_pg, inside_redis = free_port(), free_port()
        common = {
            "LECTERN_TEST_ID": test_id,
            "OPENBLAS_NUM_THREADS": "1",
            "AI_ANON_RATE_LIMIT_REQUESTS": "1000",
            "AI_BUDGET_ANON_IP_DAILY_TOKENS": "10000000",
            "AI_REVIEW_WEAK_GROUNDING": "false",
        }
        outside = {"DATABASE_URL": cluster.url, "REDIS_URL": redis_server.url, **common}
        queue = f"lectern-test-{test_id}"
        with django_db_blocker.unblock():
            worker = start_celery_worker(queue=queue, log_path=logs / "worker.log", extra_env=outside)
        inside = {
            **_worker_env("unused"),
            "DATABASE_URL": cluster.url.replace(f":{cluster.port}/", f":{inside_pg}/"),
            "REDIS_URL": f"redis://127.0.0.1:{inside_redis}/0",
            "DATABASE_POOL": "true",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            **common,
        }
        web = CutWeb(
            env=inside,
            forwards={
                inside_pg: str(cluster.dir / f".s.PGSQL.{cluster.port}"),
                inside_redis: redis_server.socket,
            },
            logs=logs,
        )
        csrf = web.http.get("/api/ai/csrf/").json()["csrf_token"]

        def ask(n: int) -> httpx.Response:
            return web.http.post("/api/ai/ask/", json={"question": f"Question {n}: how long do refunds take?"},
                                 headers={"X-CSRFToken": csrf})  # fmt: skip

        accepted = []
        for n in range(4):
            response = ask(n)
            assert response.status_code == 202, response.text
            accepted.append(response.json()["id"])
        wait_for(lambda: web.http.get("/healthz").status_code == 200, timeout=60,
                 message=f"/healthz never ok before the cut: {web.http.get('/healthz').text}")  # fmt: skip

        web.cut()
        cut_at = time.monotonic()
        during: list[tuple[str, object, float, float]] = []  # (what, status or error, seconds, sent at)

        def keep_sending(name: str, call) -> None:
            while (sent := time.monotonic() - cut_at) < CUT_FOR_S:
                outcome, seconds = _timed(call)
                during.append((name, outcome, seconds, round(sent, 1)))
                time.sleep(0.5)

        with ThreadPoolExecutor(max_workers=3) as pool:
            loops = [
                pool.submit(keep_sending, "ask", lambda: ask(99)),
                pool.submit(keep_sending, "poll", lambda: web.http.get(f"/api/ai/requests/{accepted[0]}/")),
                # The load balancer's probe carries no cookies.
                pool.submit(keep_sending, "healthz", lambda: web.bare_get("/healthz")),
            ]
            for loop in loops:
                loop.result()
        down = [
            sent + seconds for name, outcome, seconds, sent in during if name == "healthz" and outcome == 503
        ]
        healthz_down_after = round(min(down), 1) if down else None
        web.heal()
        healed_at = time.monotonic()
        for name in ("ask", "poll", "healthz"):
            mine = [entry for entry in during if entry[0] == name]
            outcomes = Counter(str(entry[1]) for entry in mine)
            fault_counts.notes.append(
                f"{name} during the {CUT_FOR_S:.0f} s cut: {dict(outcomes)}, slowest {max(e[2] for e in mine)} s"
            )
        fault_counts.notes.append(f"/healthz said 503 {healthz_down_after} s after the cut")

        wait_for(lambda: web.bare_get("/healthz").status_code == 200, timeout=60,
                 message=f"/healthz never recovered: {web.bare_get('/healthz').text}")  # fmt: skip
        after = []
        for n in range(4):
            response = ask(100 + n)
            after.append(response.status_code)
            if response.status_code == 202:
                accepted.append(response.json()["id"])
        fault_counts.notes.append(
            f"ok again {time.monotonic() - healed_at:.1f} s after the network healed; asks then: {after}"
        )
        statuses = _statuses(cluster, accepted, timeout=120)
        fault_counts.tally(list(statuses.values()))
        fault_counts.http_500 = sum(entry[1] == 500 for entry in during) + after.count(500)

        slow = [entry for entry in during if entry[2] > ANSWER_BOUND_S or not isinstance(entry[1], int)]
        assert not slow, f"requests hung or went unanswered during the cut: {slow}"
        assert fault_counts.http_500 == 0, during
        # Each answer during the cut is the outage said plainly (or, for a poll, the stored request).
        asks = {entry[1] for entry in during if entry[0] == "ask"}
        assert asks <= {202, 503} and 503 in asks, during
        assert {entry[1] for entry in during if entry[0] == "poll"} <= {200, 503}, during
        # Not its last good result until the probe gives up: down once a probe is overdue.
        assert healthz_down_after is not None, f"/healthz never reported the cut: {during}"
        assert healthz_down_after <= HEALTHZ_BOUND_S, during
        assert after == [202] * 4, after
        assert fault_counts.lost == 0, statuses
    finally:
        if web is not None:
            web.stop()
        if worker is not None:
            stop_celery_worker(worker)
        redis_server.close()
        fault_counts.seconds = time.monotonic() - started
