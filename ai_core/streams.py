"""Answer streams: the worker appends events to a Redis Stream per request; web processes relay them.

A Redis Stream (not pub/sub) keeps every event, so a client that connects late or reconnects with
``Last-Event-ID`` replays from where it was, and any web process can serve any client.

Events: ``delta`` {"text"}, ``reset`` {} (a fallback model restarts the answer), ``done``
{"status", "citations", ...}, ``error`` {"status", "message"}.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from ai_core.resilience.runtime import redis_key, shared_redis

STREAM_TTL_S = 3600
MAXLEN = 20_000
TERMINAL_EVENTS = frozenset({"done", "error"})


def stream_key(request_id: object) -> str:
    return redis_key("stream", request_id)


def cancel_key(request_id: object) -> str:
    return redis_key("cancel", request_id)


def stream_publish(request_id: object, event: str, data: dict[str, Any] | None = None) -> str:
    client = shared_redis()
    key = stream_key(request_id)
    pipe = client.pipeline()
    pipe.xadd(key, {"event": event, "data": json.dumps(data or {})}, maxlen=MAXLEN, approximate=True)
    pipe.expire(key, STREAM_TTL_S)
    entry_id, _ = pipe.execute()
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def stream_read(
    client: redis.Redis, request_id: object, *, after: str = "0", block_ms: int = 15_000
) -> list[tuple[str, str, dict]]:
    """Events after ``after`` (a stream id), waiting up to ``block_ms`` for the first one."""
    response = client.xread({stream_key(request_id): after}, block=block_ms, count=500)
    events = []
    for _key, entries in response or []:
        for entry_id, fields in entries:
            entry = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            events.append((entry, fields[b"event"].decode(), json.loads(fields[b"data"])))
    return events


def stream_events(request_id: object) -> list[tuple[str, str, dict]]:
    """Everything published so far, without waiting (tests, debugging, the admin)."""
    entries = shared_redis().xrange(stream_key(request_id))
    return [(i.decode(), f[b"event"].decode(), json.loads(f[b"data"])) for i, f in entries]


def cancel_request_stream(request_id: object) -> None:
    shared_redis().set(cancel_key(request_id), "1", ex=STREAM_TTL_S)


def is_cancelled(request_id: object) -> bool:
    return bool(shared_redis().exists(cancel_key(request_id)))
