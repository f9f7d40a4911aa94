"""Under ASGI (uvicorn serves the site through Django's ASGI handler) the middleware chain runs in
the request's thread in one go, not as a hop to that thread and back for every middleware hook.

Each hop is a hand-off between the event loop and the request thread; with a dozen middleware
hooks they were about a quarter of a plain request's cost in the web process
(`bench/http_throughput.py`, docs/BENCHMARKS.md). The tests count the hand-offs Django makes for
one real request, by wrapping asgiref's two adapters.
"""

from __future__ import annotations

import pytest
from asgiref import sync
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, override_settings

pytestmark = pytest.mark.django_db

MARKER = "site_config.middleware.OneThreadChainMiddleware"


def hops_for(path: str, monkeypatch) -> tuple[int, list[str]]:
    """The status of GET ``path`` through the ASGI request handler, and the name of every callable
    handed between the event loop and a thread while it was served."""
    hops: list[str] = []
    to_thread, to_loop = sync.SyncToAsync.__call__, sync.AsyncToSync.__call__

    async def counted_to_thread(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await to_thread(self, *args, **kwargs)

    def counted_to_loop(self, *args, **kwargs):
        hops.append(getattr(self.awaitable, "__qualname__", repr(self.awaitable)))
        return to_loop(self, *args, **kwargs)

    client = AsyncClient()
    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted_to_thread)
    monkeypatch.setattr(sync.AsyncToSync, "__call__", counted_to_loop)
    try:
        response = async_to_sync(client.get)(path)
    finally:
        monkeypatch.undo()
    return response.status_code, hops


def middleware_hooks(hops: list[str]) -> list[str]:
    return [name for name in hops if name.endswith((".process_request", ".process_response"))]


@pytest.mark.parametrize("path", ["/healthz/live", "/"])
def test_no_middleware_hook_hops_between_the_event_loop_and_the_request_thread(path, monkeypatch):
    status, hops = hops_for(path, monkeypatch)
    assert status == 200
    assert middleware_hooks(hops) == [], hops
    # Into the thread for the chain, back to the loop once for the view middleware and the view.
    assert hops.count("BaseHandler._get_response_async") == 1, hops


def test_without_the_sync_marker_every_hook_would_hop(monkeypatch):
    """The guard above is not vacuous: drop the marker and Django runs the chain async."""
    assert settings.MIDDLEWARE[-1] == MARKER, "the marker must stay last: middleware below it would run async"
    with override_settings(MIDDLEWARE=settings.MIDDLEWARE[:-1]):
        status, hops = hops_for("/healthz/live", monkeypatch)
    assert status == 200
    assert "SessionMiddleware.process_request" in middleware_hooks(hops)
    assert len(middleware_hooks(hops)) >= 8, hops
