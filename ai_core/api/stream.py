"""Server-Sent Events relay: an async view that forwards a request's Redis Stream to the browser.

It never calls a model; it only reads what the worker published. ``Last-Event-ID`` (sent by the
browser's EventSource on reconnect) resumes after the last event the client saw; without it the
stream replays from the start, so a late client still gets the whole answer.

An open stream costs the server a socket and one Redis connection, never a database connection:
the ownership check is the only query, and its connection goes back (to the pool, or closed) before
the first event is sent. From then on everything comes from Redis: the events, and the request's
final event (kept by ``ai_core.streams`` after the stream itself expires), so the relay ends as soon
as the final event is delivered. A ``Last-Event-ID`` past the end of the stream gets the final event
(finished) or continues from the current end (still running); it can never make the relay idle for
nothing. Streams open at once are capped per session and per client address (``AI_CORE["STREAMS"]``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ai_core import conf
from ai_core.clients import client_key
from ai_core.models import AIRequest
from ai_core.streams import (
    TERMINAL_EVENTS,
    StreamCapReached,
    StreamLease,
    final_key,
    parse_stream_id,
    stream_key,
    stream_lease_acquire,
)

from .disconnect import SCOPE_KEY, ClientGone, until_client_gone
from .http import error_response, get_owned_request
from .views import serialize_request

logger = logging.getLogger(__name__)

BLOCK_MS = 10_000
StreamId = tuple[int, int]


def _sse(event: str, data: dict, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


def _final_from_row(ai_request: AIRequest) -> str:
    """For a finished request whose stream and final event have expired: the outcome as one event,
    shown by the same rule as the poll API."""
    body = serialize_request(ai_request)
    if ai_request.status == AIRequest.Status.FAILED:
        return _sse("error", {"status": body["status"], "message": body["error"]})
    done = {"status": body["status"], "text": body["result"] or "", "citations": body["citations"]}
    if body["reviewed_label"]:
        done.update(reviewed_at=body["reviewed_at"], reviewed_label=body["reviewed_label"])
    return _sse("done", done)


@dataclass(kw_only=True, frozen=True)
class _Opened:
    request_id: uuid.UUID
    owner: str
    client_address: str
    # The outcome per the row, when the row says the request is finished (or held for review).
    row_final: str | None
    # Held for review: its stream is never replayed, even if the worker could not empty it.
    held: bool = False


def _open(request: HttpRequest, request_id: uuid.UUID) -> _Opened:
    """The ownership check (the session, the user and the row): the stream's only database work.

    The connection is handed back before returning; otherwise it stays checked out in this
    request's thread until the response ends, i.e. for as long as the stream stays open.
    """
    try:
        ai_request = get_owned_request(request, request_id)
        finished = ai_request.is_terminal or ai_request.status == AIRequest.Status.AWAITING_REVIEW
        if request.user.is_authenticated:
            owner = f"user-{request.user.pk}"
        else:  # a hash: session keys are credentials, not key names
            owner = "session-" + hashlib.sha256(request.session.session_key.encode()).hexdigest()[:32]
        return _Opened(
            request_id=ai_request.pk,
            owner=owner,
            client_address=client_key(request),
            row_final=_final_from_row(ai_request) if finished else None,
            held=ai_request.status == AIRequest.Status.AWAITING_REVIEW,
        )
    finally:
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:  # a test's transaction (or ATOMIC_REQUESTS) keeps it
                connection.close()


def _format_id(stream_id: StreamId) -> str:
    return f"{stream_id[0]}-{stream_id[1]}"


async def _final_event(client: aioredis.Redis, request_id: uuid.UUID) -> tuple[StreamId, str] | None:
    fields = await client.hgetall(final_key(request_id))
    if not fields:
        return None
    entry_id = fields[b"id"].decode()
    event = f"id: {entry_id}\nevent: {fields[b'event'].decode()}\ndata: {fields[b'data'].decode()}\n\n"
    return parse_stream_id(entry_id) or (0, 0), event


async def _last_id(client: aioredis.Redis, key: str) -> StreamId | None:
    entries = await client.xrevrange(key, count=1)
    return parse_stream_id(entries[0][0].decode()) if entries else None


async def _read(
    client: aioredis.Redis, key: str, after: StreamId, *, block_ms: int | None, gone: asyncio.Event | None
):
    response = await until_client_gone(
        client.xread({key: _format_id(after)}, block=block_ms, count=500), gone
    )
    for _key, entries in response or []:
        for raw_id, fields in entries:
            yield raw_id.decode(), fields[b"event"].decode(), json.loads(fields[b"data"])


async def _relay(
    opened: _Opened, after: StreamId, lease: StreamLease | None, gone: asyncio.Event | None
) -> AsyncIterator[str]:
    """Every Redis await races ``gone`` (the client disconnected; see ``ai_core.api.disconnect``),
    so a closed stream gives its lease back at once instead of renewing it until the deadline."""
    # A client of its own, made here: the server may run the body in another event loop than the view.
    client = _redis_client()
    key = stream_key(opened.request_id)
    deadline = time.monotonic() + conf.stream_settings().max_open_s
    try:
        yield "retry: 2000\n\n"
        final = await until_client_gone(_final_event(client, opened.request_id), gone)
        last = await until_client_gone(_last_id(client, key), gone)
        if last is None or after >= last:
            # Nothing to replay past the client's position.
            if final is not None:
                yield final[1]
                return
            if opened.row_final is not None:
                yield opened.row_final
                return
            if last is None or after > last:
                after = last or (0, 0)  # a position past the end: from the current end
        elif final is None and opened.row_final is not None:
            # Finished per the row, yet Redis has no final event (lost in a Redis restart): replay
            # what is left, then the row's outcome, rather than wait for an event that never comes.
            # Not for a held answer: the worker empties its stream at the hold, and if Redis was
            # gone then, what is left is text sent before the hold.
            if opened.held:
                yield opened.row_final
                return
            async for entry_id, event, data in _read(client, key, after, block_ms=None, gone=gone):
                yield _sse(event, data, entry_id)
                if event in TERMINAL_EVENTS:
                    return
            yield opened.row_final
            return
        while (remaining_ms := int((deadline - time.monotonic()) * 1000)) > 0:
            delivered = False
            async for entry_id, event, data in _read(
                client, key, after, block_ms=min(BLOCK_MS, remaining_ms), gone=gone
            ):
                delivered = True
                after = parse_stream_id(entry_id) or after
                yield _sse(event, data, entry_id)
                if event in TERMINAL_EVENTS:
                    return
            if not delivered:
                # The stream expired or was replaced (a review decision) while we waited.
                final = await until_client_gone(_final_event(client, opened.request_id), gone)
                if final is not None and final[0] > after:
                    yield final[1]
                    return
                yield ": keep-alive\n\n"
            if lease is not None:
                await until_client_gone(lease.renew(client), gone)
    except ClientGone:
        pass
    except redis.RedisError as err:
        # The browser reconnects with Last-Event-ID; the poll API still answers from the row.
        logger.warning("stream relay for %s lost Redis: %s", opened.request_id, err)
        if opened.row_final is not None:
            yield opened.row_final
    finally:
        try:
            if lease is not None:
                await lease.release(client)
        except redis.RedisError:
            pass  # the lease lapses by itself
        await client.aclose()


def _redis_client() -> aioredis.Redis:
    return aioredis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=BLOCK_MS / 1000 + 5
    )


@never_cache
@require_GET
async def request_stream(request: HttpRequest, request_id: uuid.UUID):
    raw_after = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or "0"
    after = parse_stream_id(raw_after) if len(raw_after) <= 41 else None
    if after is None:
        return error_response(
            "Last-Event-ID must be a stream id such as 1700000000000-0.", status=400, code="invalid"
        )
    try:
        opened = await sync_to_async(_open)(request, request_id)
    except Http404:
        return error_response("No such request.", status=404, code="not_found")
    limits = conf.stream_settings()
    lease = None
    try:
        if opened.row_final is None:
            # Only a stream that may wait is counted; a finished request's stream ends at once.
            async with _redis_client() as client:
                lease = await stream_lease_acquire(
                    client,
                    token=uuid.uuid4().hex,
                    owner=opened.owner,
                    client_address=opened.client_address,
                    max_per_owner=limits.max_per_session,
                    max_per_client=limits.max_per_client,
                    lease_s=limits.lease_s,
                )
    except StreamCapReached as cap:
        return error_response(
            f"Too many answer streams are open ({cap.limit} per {cap.scope}). Close one, or poll "
            f"{request.path.removesuffix('stream/')} for the answer instead.",
            status=429,
            code="too_many_streams",
            retry_after=limits.retry_after_s,
        )
    except redis.RedisError:
        return error_response(
            "Answer streaming is unavailable right now; poll the request for its answer.",
            status=503,
            code="unavailable",
            retry_after=limits.retry_after_s,
        )
    gone = getattr(request, "scope", {}).get(SCOPE_KEY)  # set under ASGI by site_config.asgi
    response = StreamingHttpResponse(_relay(opened, after, lease, gone), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # let nginx-style proxies pass events through at once
    return response
