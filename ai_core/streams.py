"""Answer streams: the worker appends events to a Redis Stream per request; web processes relay them.

A Redis Stream (not pub/sub) keeps every event, so a client that connects late or reconnects with
``Last-Event-ID`` replays from where it was, and any web process can serve any client.

Events: ``delta`` {"text"}, ``reset`` {} (a fallback model restarts the answer), ``done``
{"status", "citations", ...}, ``error`` {"status", "message"}.

A final event (``done``/``error``) is also kept in a small per-request hash, written in the same
atomic step as the stream entry and kept a day: with it a relay finishes a request from Redis alone,
even after the stream itself has expired, so no open stream ever needs the database.

Open streams are counted per session and per client address in sorted sets of leases (member: one
connection's token, score: when its lease ends). The relay renews its lease while open and removes
it when it ends; a web process that dies leaves leases that simply lapse and are pruned on the next
count, so a crash can never lock a visitor out.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from ai_core.resilience.runtime import redis_key, shared_redis

STREAM_TTL_S = 3600
FINAL_TTL_S = 24 * 3600
MAXLEN = 20_000
TERMINAL_EVENTS = frozenset({"done", "error"})
MAX_ID_PART = 2**64 - 1
_STREAM_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")


def stream_key(request_id: object) -> str:
    return redis_key("stream", request_id)


def cancel_key(request_id: object) -> str:
    return redis_key("cancel", request_id)


def final_key(request_id: object) -> str:
    return redis_key("stream-final", request_id)


# Append an event; a final one is copied (with its entry id) into the request's final-event hash in
# the same script, so a relay never sees a final stream entry without the hash or the reverse.
_PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'event', ARGV[1], 'data', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'id', id, 'event', ARGV[1], 'data', ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return id
"""


def stream_publish(request_id: object, event: str, data: dict[str, Any] | None = None) -> str:
    keys = [stream_key(request_id), final_key(request_id)]
    final = "1" if event in TERMINAL_EVENTS else "0"
    args = [event, json.dumps(data or {}), MAXLEN, STREAM_TTL_S, final, FINAL_TTL_S]
    entry_id = shared_redis().eval(_PUBLISH, len(keys), *keys, *args)
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def parse_stream_id(value: str) -> tuple[int, int] | None:
    """``1700000000000-0`` (or ``1700000000000``) as a comparable pair; None when it is not a
    Redis stream id, so a hostile ``Last-Event-ID`` is refused before it reaches Redis."""
    match = _STREAM_ID.fullmatch(value)
    if match is None:
        return None
    ms, seq = int(match[1]), int(match[2] or 0)
    if ms > MAX_ID_PART or seq > MAX_ID_PART:
        return None
    return ms, seq


def stream_events(request_id: object) -> list[tuple[str, str, dict]]:
    """Everything published so far, without waiting (tests, debugging, the admin)."""
    entries = shared_redis().xrange(stream_key(request_id))
    return [(i.decode(), f[b"event"].decode(), json.loads(f[b"data"])) for i, f in entries]


def cancel_request_stream(request_id: object) -> None:
    shared_redis().set(cancel_key(request_id), "1", ex=STREAM_TTL_S)


def is_cancelled(request_id: object) -> bool:
    return bool(shared_redis().exists(cancel_key(request_id)))


# --- Caps on open streams: leases in sorted sets, counted and taken in one script.

_ACQUIRE = """
local now, until_, token, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[4 + i]) then
    return i
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, until_, token)
  redis.call('EXPIRE', key, ttl)
end
return 0
"""


@dataclass(kw_only=True, frozen=True)
class StreamLease:
    """One open stream's place in its owner's and its client address's counts."""

    token: str
    keys: tuple[str, ...]
    lease_s: int

    async def renew(self, client) -> None:
        until = time.time() + self.lease_s
        pipe = client.pipeline(transaction=False)
        for key in self.keys:
            pipe.zadd(key, {self.token: until})
            pipe.expire(key, self.lease_s * 2)
        await pipe.execute()

    async def release(self, client) -> None:
        pipe = client.pipeline(transaction=False)
        for key in self.keys:
            pipe.zrem(key, self.token)
        await pipe.execute()


class StreamCapReached(Exception):
    def __init__(self, scope: str, limit: int):
        super().__init__(f"{limit} open streams per {scope}")
        self.scope, self.limit = scope, limit


async def stream_lease_acquire(
    client,
    *,
    token: str,
    owner: str,
    client_address: str,
    max_per_owner: int,
    max_per_client: int,
    lease_s: int,
) -> StreamLease:
    """Count a new stream against its owner (session or user) and its client address, or raise
    :class:`StreamCapReached` naming the cap it would pass. ``client_address`` may be empty (no
    usable peer address): then only the owner's cap applies."""
    scopes = [("session", redis_key("streams", "owner", owner), max_per_owner)]
    if client_address:
        scopes.append(("client address", redis_key("streams", "client", client_address), max_per_client))
    now = time.time()
    keys = [key for _, key, _ in scopes]
    hit = await client.eval(
        _ACQUIRE, len(keys), *keys, now, now + lease_s, token, lease_s * 2, *[cap for _, _, cap in scopes]
    )
    if int(hit):
        scope, _, cap = scopes[int(hit) - 1]
        raise StreamCapReached(scope, cap)
    return StreamLease(token=token, keys=tuple(keys), lease_s=lease_s)
