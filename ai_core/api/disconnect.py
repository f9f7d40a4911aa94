"""Tell a streaming view that its client has gone, without relying on task cancellation alone.

Django's ASGI handler learns of a disconnect by reading ``http.disconnect`` and then cancels the
response task once. That single ``CancelledError`` can be lost: redis-py's asyncio client swallows
a cancellation that lands at the wrong moment of a command (measured: about one cancel in three
on back-to-back commands, redis-py 8.1), and the server's ``send`` to a closed socket returns
silently. The answer-stream relay would then keep its stream lease for the longest a stream may
live. :func:`disconnect_aware` wraps the ASGI application so the disconnect is also recorded as an
event in the request's scope; :func:`until_client_gone` runs one await against that event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

SCOPE_KEY = "lectern.client_gone"

T = TypeVar("T")


class ClientGone(Exception):
    """The client closed the connection while the view was waiting."""


def disconnect_aware(app):
    """ASGI middleware: ``scope[SCOPE_KEY]`` is an :class:`asyncio.Event` set at ``http.disconnect``."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        gone = asyncio.Event()

        async def receive_watched():
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            return message

        return await app({**scope, SCOPE_KEY: gone}, receive_watched, send)

    return wrapped


async def until_client_gone(awaitable: Awaitable[T], gone: asyncio.Event | None) -> T:
    """Await ``awaitable`` in a task of its own, or raise :class:`ClientGone` as soon as ``gone`` is
    set. A cancellation of the caller always reaches the caller, whatever the awaited library does
    with the one it passes on."""
    task = asyncio.ensure_future(awaitable)
    waiters: set[asyncio.Future] = {task}
    gone_wait = None
    if gone is not None:
        if gone.is_set():
            _abandon(task)
            raise ClientGone
        gone_wait = asyncio.ensure_future(gone.wait())
        waiters.add(gone_wait)
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        _abandon(task)
        raise
    finally:
        if gone_wait is not None and not gone_wait.done():
            gone_wait.cancel()
    if not task.done():
        _abandon(task)
        raise ClientGone
    return task.result()


def _abandon(task: asyncio.Future) -> None:
    task.cancel()
    # Retrieve its outcome, so an error it ends with is not reported as never retrieved.
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
