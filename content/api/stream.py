"""Server-Sent Events relay: an async view that forwards a request's Redis Stream to the browser.

It never calls a model; it only reads what the worker published. ``Last-Event-ID`` (sent by the
browser's EventSource on reconnect) resumes after the last event the client saw; without it the
stream replays from the start, so a late client still gets the whole answer.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ai_core.models import AIRequest
from ai_core.streams import TERMINAL_EVENTS, stream_key

from .views import error_response, get_owned_request

BLOCK_MS = 10_000
MAX_STREAM_S = 300
STREAM_ID_CHARS = set("0123456789-")


def _sse(event: str, data: dict, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


def _final_from_row(ai_request: AIRequest) -> str:
    """For a finished request whose stream has expired: the outcome as one event."""
    from .views import serialize_request

    body = serialize_request(ai_request)
    if ai_request.status == AIRequest.Status.FAILED:
        return _sse("error", {"status": body["status"], "message": body["error"]})
    return _sse(
        "done", {"status": body["status"], "text": body["result"] or "", "citations": body["citations"]}
    )


async def _relay(request_id: uuid.UUID, after: str) -> AsyncIterator[str]:
    client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=BLOCK_MS / 1000 + 5)
    key = stream_key(request_id)
    started = time.monotonic()
    try:
        yield "retry: 2000\n\n"
        if after == "0" and not await client.exists(key):
            ai_request = await AIRequest.objects.aget(pk=request_id)
            if ai_request.is_terminal:
                yield _final_from_row(ai_request)
                return
        while time.monotonic() - started < MAX_STREAM_S:
            response = await client.xread({key: after}, block=BLOCK_MS, count=500)
            if not response:
                ai_request = await AIRequest.objects.aget(pk=request_id)
                if ai_request.is_terminal and not await client.exists(key):
                    yield _final_from_row(ai_request)
                    return
                yield ": keep-alive\n\n"
                continue
            for _key, entries in response:
                for raw_id, fields in entries:
                    after = raw_id.decode()
                    event = fields[b"event"].decode()
                    yield _sse(event, json.loads(fields[b"data"]), after)
                    if event in TERMINAL_EVENTS:
                        return
    finally:
        await client.aclose()


@never_cache
@require_GET
async def request_stream(request: HttpRequest, request_id: uuid.UUID):
    try:
        ai_request = await sync_to_async(get_owned_request)(request, request_id)
    except Http404:
        return error_response("No such request.", status=404, code="not_found")
    after = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or "0"
    if not after or set(after) - STREAM_ID_CHARS or len(after) > 40:
        return error_response(
            "Last-Event-ID must be a stream id such as 1700000000000-0.", status=400, code="invalid"
        )
    response = StreamingHttpResponse(_relay(ai_request.pk, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # let nginx-style proxies pass events through at once
    return response
