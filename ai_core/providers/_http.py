"""Shared plumbing for the SDK-backed providers: timeouts, lazy clients, status → error mapping.

Both vendor SDKs (anthropic 2.x, openai 3.x) are built on ``httpx2``, so timeouts are
``httpx2.Timeout`` objects; passing the fork's own type avoids the SDKs' legacy-httpx conversions.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

import httpx2

from ai_core.providers.base import GenerationResult, StreamEvent, Usage
from ai_core.providers.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    ProviderStreamInterrupted,
    ProviderTimeout,
)

# The SDK defaults wait ten minutes for a read; a visitor waiting on an answer will not. Explicit,
# short defaults make a stalled provider fail fast enough for the fallback chain to help.
DEFAULT_TIMEOUT: dict[str, float] = {"connect": 5.0, "read": 60.0, "write": 30.0, "pool": 5.0}

# Retries belong to our resilience layer, which sees every provider and can fall back to another
# one; SDK retries inside a single call would multiply attempts and hide failures from it.
DEFAULT_MAX_RETRIES = 0

T = TypeVar("T")


def build_timeout(timeout: Mapping[str, float] | float | None = None) -> httpx2.Timeout:
    """Turn settings (a dict of connect/read/write/pool seconds, or one number) into ``httpx2.Timeout``."""
    if timeout is None:
        return httpx2.Timeout(**DEFAULT_TIMEOUT)
    if isinstance(timeout, int | float):
        return httpx2.Timeout(float(timeout))
    unknown = set(timeout) - set(DEFAULT_TIMEOUT)
    if unknown:
        raise ValueError(f"unknown timeout keys {sorted(unknown)}; expected connect/read/write/pool")
    return httpx2.Timeout(**{**DEFAULT_TIMEOUT, **{k: float(v) for k, v in timeout.items()}})


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
    if parsed is None:
        return None
    return max(parsed.timestamp() - time.time(), 0.0)


def elapsed_ms(started: float) -> int:
    """Milliseconds since a ``time.monotonic()`` reading."""
    return int((time.monotonic() - started) * 1000)


class LazyClient(Generic[T]):
    """Builds an SDK client once, on first use, even when several threads ask at the same moment.

    Lazy so that importing settings or building the provider registry never opens connections;
    one client per provider so its connection pool is shared by every request.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._client: T | None = None

    def get(self) -> T:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
                client = self._client
        return client

    @property
    def built(self) -> bool:
        return self._client is not None


def error_for_status(
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    provider: str = "",
    model: str = "",
) -> ProviderError:
    """Classify an HTTP error status the same way for every vendor (and every compatible server)."""
    kwargs = {"provider": provider, "model": model, "status": status}
    if status == 429:
        return ProviderRateLimited(message, retry_after=parse_retry_after(headers), **kwargs)
    if status == 529:
        return ProviderOverloaded(message, **kwargs)
    if status in (401, 403):
        return ProviderAuthError(message, **kwargs)
    if status == 408:
        return ProviderTimeout(message, **kwargs)
    if status >= 500:
        return ProviderServerError(message, **kwargs)
    if 400 <= status < 500:
        return ProviderBadRequest(message, **kwargs)
    return ProviderError(message, **kwargs)


def capped_timeout(base: httpx2.Timeout, cap: float) -> httpx2.Timeout:
    """The client's timeouts, none longer than ``cap`` (the time left before the caller's deadline)."""

    def clamp(value: float | None) -> float:
        return cap if value is None else min(value, cap)

    return httpx2.Timeout(
        connect=clamp(base.connect), read=clamp(base.read), write=clamp(base.write), pool=clamp(base.pool)
    )


def stream_finished(
    *,
    provider: str,
    model: str,
    parts: list[str],
    usage: Usage,
    stop_reason: str | None,
    completed: bool,
    started: float,
    missing: str,
) -> StreamEvent:
    """The final ``done`` event of a provider stream, or ``ProviderStreamInterrupted`` (with the
    text so far) when the stream ended without the provider saying it was complete."""
    text = "".join(parts)
    if not completed:
        raise ProviderStreamInterrupted(
            f"stream ended without {missing}", partial_text=text, provider=provider, model=model
        )
    result = GenerationResult(
        text=text,
        provider=provider,
        model=model,
        usage=usage,
        stop_reason=stop_reason,
        latency_ms=elapsed_ms(started),
    )
    return StreamEvent(kind="done", text=text, result=result)
