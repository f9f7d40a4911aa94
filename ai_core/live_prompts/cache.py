"""An in-process cache of live prompts, invalidated across processes through a stamp in Redis.

Reading the database on every AI request would be wasteful, but a publish in the admin must reach
every web and worker process within seconds. Each process keeps its specs in memory and compares
a shared version stamp (``django.core.cache``, Redis-backed) at most once per
``AI_CORE["LIVE_PROMPT_CHECK_SECONDS"]``; a publish writes a new stamp once its transaction has
committed, so the worst-case staleness is one check interval plus one Redis round trip.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import transaction

from ai_core import conf

logger = logging.getLogger(__name__)

STAMP_KEY = "ai_core:prompts:stamp"
DEFAULT_CHECK_SECONDS = 1.0

T = TypeVar("T")


def read_stamp() -> str | None:
    """The shared stamp, created if absent (first start, or Redis was flushed): processes then agree
    on one value instead of each treating "no stamp" as a change on every check."""
    try:
        stamp = cache.get(STAMP_KEY)
        if stamp is None:
            cache.add(STAMP_KEY, uuid.uuid4().hex, timeout=None)
            stamp = cache.get(STAMP_KEY)
        return stamp
    except Exception:  # Redis down: report "unknown", which makes every process re-read the DB.
        logger.warning("prompt cache stamp unreadable; serving prompts uncached", exc_info=True)
        return None


def bump_stamp() -> str:
    """Tell every process that live prompts changed. Call only after the change has committed."""
    stamp = uuid.uuid4().hex
    cache.set(STAMP_KEY, stamp, timeout=None)
    for instance in list(StampedCache.instances):
        instance.clear()  # this process need not wait for its next check
    return stamp


def bump_stamp_on_commit(**_kwargs: object) -> None:
    """Signal receiver for publish, unpublish and delete of prompt snippets.

    On commit, because another process that re-read the row before the commit would otherwise
    cache the old prompt under the new stamp and keep it.
    """
    transaction.on_commit(bump_stamp)


class StampedCache(Generic[T]):
    """Values by key, dropped whenever the shared stamp differs from the one last seen."""

    instances: weakref.WeakSet[StampedCache] = weakref.WeakSet()

    def __init__(
        self,
        loader: Callable[[str], T],
        *,
        check_seconds: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
        stamp: Callable[[], str | None] = read_stamp,
    ) -> None:
        self._loader = loader
        self._read_stamp = stamp
        self._check_seconds = check_seconds
        self._clock = clock
        self._entries: dict[str, T] = {}
        self._stamp: str | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        StampedCache.instances.add(self)

    def get(self, key: str) -> T:
        self._refresh_if_due()
        entries = self._entries
        try:
            return entries[key]
        except KeyError:
            # Stored in the dict we looked in: if a refresh swapped it meanwhile, this possibly
            # stale value is simply not kept.
            value = entries[key] = self._loader(key)
            return value

    def clear(self) -> None:
        with self._lock:
            self._entries = {}
            self._checked_at = float("-inf")

    def _refresh_if_due(self) -> None:
        now = self._clock()
        if now - self._checked_at < self._check_seconds():
            return
        with self._lock:
            if now - self._checked_at < self._check_seconds():
                return
            stamp = self._read_stamp()
            if stamp is None or stamp != self._stamp:
                self._entries = {}
            self._stamp = stamp
            self._checked_at = now


def check_seconds() -> float:
    value = conf.setting_or_none("LIVE_PROMPT_CHECK_SECONDS")
    return DEFAULT_CHECK_SECONDS if value is None else float(value)
