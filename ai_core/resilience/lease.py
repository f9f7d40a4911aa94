"""A Redis lease: "one run at a time" for long jobs whose Celery message may be redelivered.

With ``acks_late`` the broker hands a message to another worker when it was not acknowledged
within the visibility timeout, even while the first worker is still busy with it. A lease makes
the second run step aside. Unlike a lock with a long fixed timeout, it is short and renewed by a
heartbeat thread while the holder lives: a SIGKILLed or OOM-killed worker stops renewing, the lease
lapses within ``ttl_s``, and the redelivered message can then do the work.

Pure (takes a Redis client), like ``breaker.py``; ``runtime.py`` style wiring lives with the caller.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

# Renew or release only a lease we still hold (compare the token first): after a pause longer
# than the TTL, another run may own the key now, and must not be cut short by us.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class Lease:
    """Held while ``held`` is True; ``lost`` is set when a renewal found the key gone or taken."""

    def __init__(self, client: redis.Redis, key: str, *, ttl_s: float) -> None:
        if ttl_s <= 0:
            raise ValueError("a lease needs a positive ttl")
        self._client, self.key, self._ttl_ms = client, key, int(ttl_s * 1000)
        self._token = secrets.token_hex(16)
        self.held = False
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        self.held = bool(self._client.set(self.key, self._token, nx=True, px=self._ttl_ms))
        if self.held:
            self._thread = threading.Thread(target=self._heartbeat, name=f"lease:{self.key}", daemon=True)
            self._thread.start()
        return self.held

    def _heartbeat(self) -> None:
        interval = self._ttl_ms / 3000  # renew three times per TTL: one missed renewal is harmless
        while not self._stop.wait(interval):
            try:
                renewed = self._client.eval(_RENEW, 1, self.key, self._token, self._ttl_ms)
            except redis.RedisError:
                continue  # Redis briefly away: try again; the TTL leaves room for two misses
            if not renewed:
                self.lost.set()
                return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.held:
            self.held = False
            try:
                self._client.eval(_RELEASE, 1, self.key, self._token)
            except redis.RedisError:
                pass  # it lapses by itself within the TTL


@contextmanager
def lease(client: redis.Redis, key: str, *, ttl_s: float) -> Iterator[Lease]:
    """``with lease(r, key, ttl_s=60) as held: if not held.held: return`` - never blocks."""
    held = Lease(client, key, ttl_s=ttl_s)
    held.acquire()
    try:
        yield held
    finally:
        held.release()
