"""``/healthz``: is every part the site needs up? 200 when all are, 503 naming what is down.

Each probe has a short timeout so a dead dependency makes the check fail fast instead of hanging
the load balancer's request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

PROBE_TIMEOUT_S = 1.0


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


PROBES: dict[str, Callable[[], dict]] = {
    "database": _database,
    "pgvector": _pgvector,
    "redis": _redis,
    "celery": _celery_workers,
}


def run_probes() -> dict[str, dict]:
    results: dict[str, dict] = {}
    for name, probe in PROBES.items():
        started = time.monotonic()
        try:
            detail = probe()
            results[name] = {"ok": True, **detail}
        except Exception as err:  # noqa: BLE001 - any failure means "down"; the message says why
            results[name] = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        results[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    return results


@never_cache
@require_GET
def healthz(request):
    checks = run_probes()
    down = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "ok" if not down else "unavailable", "down": down, "checks": checks}
    if checks["redis"]["ok"]:
        # Informational: an open circuit means a fallback is serving, not that the site is down.
        from ai_core.resilience.runtime import breaker_states

        body["circuits"] = breaker_states()
    return JsonResponse(body, status=503 if down else 200)


@never_cache
@require_GET
def healthz_live(request):
    """Liveness: the process serves requests, nothing more. It touches no database or Redis on
    purpose: restarting a web process cannot fix a dead dependency (that is ``/healthz``'s job), and
    ``bench/http_throughput.py`` uses it as the bare-view baseline through the full middleware stack.
    """
    return JsonResponse({"status": "ok"})
