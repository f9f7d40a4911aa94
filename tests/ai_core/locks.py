"""A request's advisory lock held by another database session, as a second worker (or a dead
worker's lingering session) would hold it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


@contextmanager
def lock_held_by_another_session(request_id) -> Iterator[None]:
    """The lock of request ``request_id``, held by another thread's database session for the block."""
    held, release = threading.Event(), threading.Event()

    def other_worker():
        from ai_core.locks import advisory_lock

        with advisory_lock(f"ai_request:{request_id}") as acquired:
            assert acquired
            held.set()
            release.wait(30)
        connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert held.wait(10), "the other session never took the lock"
    try:
        yield
    finally:
        release.set()
        thread.join()
