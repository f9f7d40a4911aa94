"""``until_client_gone``: a cancellation always reaches the caller, and a gone client ends the wait."""

import asyncio

import pytest

from ai_core.api.disconnect import SCOPE_KEY, ClientGone, disconnect_aware, until_client_gone


async def _swallows_one_cancel(finished: list) -> str:
    """An awaitable that behaves as a redis-py command can: it ignores the cancel it is sent."""
    try:
        await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        pass
    await asyncio.sleep(0.2)
    finished.append(True)
    return "reply"


def test_a_cancel_the_awaited_library_swallows_still_cancels_the_caller():
    async def scenario():
        finished: list = []

        async def caller():
            return await until_client_gone(_swallows_one_cancel(finished), None)

        task = asyncio.ensure_future(caller())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=0.1)  # at once, not after the 0.4 s the command takes

    asyncio.run(scenario())


def test_a_gone_client_ends_a_blocking_wait_at_once():
    async def scenario():
        gone = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, gone.set)
        started = asyncio.get_running_loop().time()
        with pytest.raises(ClientGone):
            await until_client_gone(asyncio.sleep(10, result="never"), gone)
        assert asyncio.get_running_loop().time() - started < 1
        with pytest.raises(ClientGone):  # already gone: nothing more is awaited
            await until_client_gone(asyncio.sleep(10), gone)

    asyncio.run(scenario())


def test_an_awaitable_that_finishes_returns_its_result():
    async def scenario():
        return await until_client_gone(asyncio.sleep(0, result=42), asyncio.Event())

    assert asyncio.run(scenario()) == 42


def test_the_asgi_wrapper_sets_the_event_when_the_client_disconnects():
    seen = {}

    async def app(scope, receive, send):
        seen["event"] = scope[SCOPE_KEY]
        assert not scope[SCOPE_KEY].is_set()
        await receive()  # the request body
        await receive()  # then the disconnect
        seen["after"] = scope[SCOPE_KEY].is_set()

    messages = iter([{"type": "http.request", "body": b""}, {"type": "http.disconnect"}])

    async def receive():
        return next(messages)

    async def send(message):
        pass

    asyncio.run(disconnect_aware(app)({"type": "http", "path": "/"}, receive, send))
    assert seen["after"] is True
