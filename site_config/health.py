"""``/healthz``: is every part the site needs up? 200 when all are, 503 naming what is down.

The probes never run inside a request. One background thread per web process runs them every
``CACHE_S`` seconds (each with a short timeout) while someone keeps asking, and requests answer
from its latest result, so a load balancer, a flood of anonymous callers or a hung broker can never
tie up web threads or database connections here: the Celery broadcast ping (which always waits its
whole timeout) is at most one per process per period.

The first request after the thread starts waits (briefly, bounded) for the quick probes, database,
pgvector and Redis, so a fresh process reports real state rather than a guess; the worker ping is
never waited for: until its first answer it is reported as ``pending`` (503).

Anyone sees the overall status and each component's ``ok``/``down``/``pending``. Exception text,
versions, timings, worker names and circuit breaker states are shown only to the metrics scraper
(``Authorization: Bearer <LECTERN_METRICS_TOKEN>``) and to logged-in staff: they tell an attacker
what runs where and when it is failing.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

PROBE_TIMEOUT_S = 1.0
# A probe still running this long after it started has its dependency not answering (a network cut
# holds a database query until DATABASE_NETWORK_TIMEOUT): it is reported down at once rather than
# its last good result standing until the probe gives up.
PROBE_OVERDUE_S = 4.0
CACHE_S = 5.0
# The first request after the refresher starts waits at most this long for the quick probes.
FIRST_RESULT_WAIT_S = 2.5
# The refresher stops after this long without a request (and starts again on the next one).
IDLE_STOP_S = 300.0


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {}


def _pgvector() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError("extension 'vector' is not installed in this database")
    return {"version": row[0]}


def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_S, socket_timeout=PROBE_TIMEOUT_S)


def _redis() -> dict:
    _redis_client(settings.REDIS_URL).ping()
    return {}


def _celery_workers() -> dict:
    # Ping through the broker only if the broker answers: kombu would otherwise retry connecting.
    _redis_client(settings.CELERY_BROKER_URL).ping()
    from site_config.celery_app import app

    replies = app.control.ping(timeout=PROBE_TIMEOUT_S)
    if not replies:
        raise RuntimeError("no Celery worker answered a ping")
    return {"workers": sorted(name for reply in replies for name in reply)}


QUICK_PROBES: dict[str, Callable[[], dict]] = {
    "database": _database,
    "pgvector": _pgvector,
    "redis": _redis,
}
SLOW_PROBES: dict[str, Callable[[], dict]] = {"celery": _celery_workers}
PROBES = {**QUICK_PROBES, **SLOW_PROBES}


def _run(name: str, probe: Callable[[], dict]) -> dict:
    started = time.monotonic()
    try:
        result = {"ok": True, **probe()}
    except Exception as err:  # noqa: BLE001 - any failure means "down"; the message says why
        result = {"ok": False, "error": f"{type(err).__name__}: {err}"}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def run_probes() -> dict[str, dict]:
    """Every probe once, in the caller's thread (the refresher; tests)."""
    return {name: _run(name, probe) for name, probe in PROBES.items()}


def _circuits() -> list[dict] | None:
    # Informational: an open circuit means a fallback is serving, not that the site is down.
    from ai_core.resilience.runtime import breaker_states

    try:
        return breaker_states()
    except redis.RedisError:
        return None


class HealthCache:
    """The latest probe results of this process, refreshed by one background thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[str, dict] = {}
        self._running: dict[str, float] = {}  # probe name -> when it started, while it runs
        self._circuits: list[dict] | None = None
        self._quick_done = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_asked = 0.0

    def snapshot(self) -> tuple[dict[str, dict], list[dict] | None]:
        """The latest results; starts the refresher if it is not running and, on its first round,
        waits (bounded) for the quick probes. Never waits for the worker ping."""
        with self._lock:
            self._last_asked = time.monotonic()
            if self._thread is None or not self._thread.is_alive():
                self._results, self._circuits = {}, None  # a stopped refresher's results are stale
                self._running = {}
                self._quick_done = threading.Event()
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._refresh_loop,
                    args=(self._quick_done, self._stop),
                    name="healthz-probes",
                    daemon=True,
                )
                self._thread.start()
            quick_done = self._quick_done
        quick_done.wait(FIRST_RESULT_WAIT_S)
        with self._lock:
            results = dict(self._results)
            now = time.monotonic()
            for name, since in self._running.items():
                if now - since > PROBE_OVERDUE_S:
                    waited = round(now - since, 1)
                    results[name] = {"ok": False, "error": f"no answer after {waited} s", "ms": waited * 1000}
            return results, self._circuits

    def stop(self) -> None:
        """End the refresher and forget its results (tests; settings changed under it)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._results, self._circuits = {}, None
            self._running = {}
        if thread is not None:
            thread.join(timeout=PROBE_TIMEOUT_S * 4 + 1)

    def _probe(self, stop: threading.Event, probes: dict[str, Callable[[], dict]]) -> None:
        """Run ``probes`` one by one, each marked as running while it runs, and publish each.
        (``_run`` catches what a probe raises; a refresher that dies anyway is replaced, and its
        marks dropped, by the next ``snapshot``.)"""
        for name, probe in probes.items():
            with self._lock:
                if stop.is_set():
                    return
                self._running[name] = time.monotonic()
            result = _run(name, probe)
            with self._lock:
                if stop.is_set():
                    return
                self._running.pop(name, None)
                self._results[name] = result

    def _refresh_loop(self, quick_done: threading.Event, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                started = time.monotonic()
                self._probe(stop, QUICK_PROBES)
                connections.close_all()  # no connection is kept between rounds
                circuits = _circuits() if self._results.get("redis", {}).get("ok") else None
                with self._lock:
                    if not stop.is_set():
                        self._circuits = circuits
                quick_done.set()
                self._probe(stop, SLOW_PROBES)
                with self._lock:
                    idle = time.monotonic() - self._last_asked > IDLE_STOP_S
                if idle:
                    return
                stop.wait(max(0.0, CACHE_S - (time.monotonic() - started)))
        finally:
            quick_done.set()
            connections.close_all()


_cache = HealthCache()


def health_cache() -> HealthCache:
    return _cache


def _shows_details(request: HttpRequest) -> bool:
    """The metrics token (compared in constant time; none configured accepts none) or staff."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        expected = settings.LECTERN_METRICS_TOKEN
        return bool(expected) and hmac.compare_digest(token.strip().encode(), expected.encode())
    try:
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)
    except DatabaseError:  # the session or the user cannot be read: the database is what is down
        return False


def _state(result: dict | None) -> str:
    if result is None:
        return "pending"
    return "ok" if result["ok"] else "down"


@never_cache
@require_GET
def healthz(request):
    results, circuits = _cache.snapshot()
    states = {name: _state(results.get(name)) for name in PROBES}
    down = [name for name, state in states.items() if state == "down"]
    pending = [name for name, state in states.items() if state == "pending"]
    status = "ok" if not down and not pending else ("unavailable" if down else "starting")
    body: dict = {"status": status, "down": down, "pending": pending, "checks": states}
    if _shows_details(request):
        body["details"] = results
        if circuits is not None:
            body["circuits"] = circuits
    return JsonResponse(body, status=200 if status == "ok" else 503)


@never_cache
@require_GET
def healthz_live(request):
    """Liveness: the process serves requests, nothing more. It touches no database or Redis on
    purpose: restarting a web process cannot fix a dead dependency (that is ``/healthz``'s job), and
    ``bench/http_throughput.py`` uses it as the bare-view baseline through the full middleware stack.
    """
    return JsonResponse({"status": "ok"})
