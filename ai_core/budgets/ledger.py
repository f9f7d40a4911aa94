"""Atomic token counters in Redis, one per scope per UTC day.

Keys carry the day (``lectern:budget:2026-11-27:user:42``), so a new day starts from zero on first
use even if the nightly reset never ran; old keys expire on their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import redis

KEY_TTL_S = 3 * 24 * 3600

# KEYS: counters 1..n, then optionally the key of a limit kept in Redis; ARGV: tokens, ttl, the
# index of the counter that limit replaces (0: none), limit_1 .. limit_n. Either every counter takes
# the tokens or none. A limit key that is missing answers {2, 0, 0} and changes nothing: the caller
# reads the limit from its source of truth and reserves again with it.
_RESERVE = """
local tokens = tonumber(ARGV[1])
local replaced = tonumber(ARGV[3])
local n = #KEYS
local limits = {}
for i = 1, #ARGV - 3 do limits[i] = tonumber(ARGV[i + 3]) end
if replaced > 0 then
  n = n - 1
  local kept = redis.call('GET', KEYS[n + 1])
  if not kept then return {2, 0, 0} end
  if tonumber(kept) > 0 then limits[replaced] = tonumber(kept) end
end
local used = {}
for i = 1, n do
  used[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used[i] + tokens > limits[i] then
    return {0, i, used[i]}
  end
end
local worst = 0
for i = 1, n do
  redis.call('INCRBY', KEYS[i], tokens)
  redis.call('EXPIRE', KEYS[i], ARGV[2])
  local share = (used[i] + tokens) * 1000000 / limits[i]
  if share > worst then worst = share end
end
return {1, 0, math.floor(worst)}
"""


@dataclass(kw_only=True, frozen=True)
class Scope:
    name: str  # "site", "pool:anonymous", "user:42", "anon:<session>", "anon-ip:<client key>"
    limit: int
    # A Redis key holding a limit that replaces ``limit`` when above 0 (a per-user override
    # mirrored from the database); at most one scope per reservation may name one.
    limit_key: str = ""


@dataclass(kw_only=True, frozen=True)
class ReserveResult:
    ok: bool
    keys: tuple[str, ...] = ()
    rejected_scope: str = ""
    used: int = 0
    share_after: float = 0.0  # the highest used/limit share after reserving
    limit_missing: bool = False  # a scope's ``limit_key`` is not in Redis: nothing was reserved


def counter_key(prefix: str, day: dt.date, scope: str) -> str:
    return f"{prefix}:{day.isoformat()}:{scope}"


def reserve(
    client: redis.Redis, *, prefix: str, day: dt.date, scopes: Sequence[Scope], tokens: int
) -> ReserveResult:
    keys = [counter_key(prefix, day, scope.name) for scope in scopes]
    replaced = [(i, scope.limit_key) for i, scope in enumerate(scopes, start=1) if scope.limit_key]
    if len(replaced) > 1:
        raise ValueError("at most one scope may read its limit from Redis")
    index_replaced, limit_keys = (replaced[0][0], [replaced[0][1]]) if replaced else (0, [])
    limits = [scope.limit for scope in scopes]
    ok, index, value = client.eval(
        _RESERVE, len(keys) + len(limit_keys), *keys, *limit_keys, tokens, KEY_TTL_S, index_replaced, *limits
    )
    if ok == 2:
        return ReserveResult(ok=False, limit_missing=True)
    if not ok:
        return ReserveResult(ok=False, rejected_scope=scopes[index - 1].name, used=int(value))
    return ReserveResult(ok=True, keys=tuple(keys), share_after=int(value) / 1_000_000)


def adjust(client: redis.Redis, *, keys: Sequence[str], delta: int) -> None:
    """Apply the difference between reserved and actual tokens (negative = refund)."""
    if delta == 0:
        return
    pipe = client.pipeline()
    for key in keys:
        pipe.incrby(key, delta)
    pipe.execute()


_ADJUST_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  for i = 2, #KEYS do
    redis.call('INCRBY', KEYS[i], ARGV[1])
  end
  return 1
end
return 0
"""


def adjust_once(
    client: redis.Redis, *, keys: Sequence[str], delta: int, marker: str, marker_ttl_s: int
) -> bool:
    """:func:`adjust`, applied at most once per ``marker``. The database claim of a settlement and
    this write cannot commit together: a worker that dies after this write but before its
    transaction commits leaves the reservation open, and whoever settles it next must not charge
    the difference again. Returns whether this call applied it."""
    if delta == 0:
        return False
    return bool(client.eval(_ADJUST_ONCE, 1 + len(keys), marker, *keys, delta, marker_ttl_s))


def used(client: redis.Redis, *, prefix: str, day: dt.date, scope: str) -> int:
    return int(client.get(counter_key(prefix, day, scope)) or 0)


def purge_before(client: redis.Redis, *, prefix: str, day: dt.date) -> int:
    """Delete counters of days before ``day`` (the nightly reset). Returns how many were removed."""
    removed = 0
    for key in client.scan_iter(match=f"{prefix}:*", count=500):
        key_day = key.decode()[len(prefix) + 1 :].split(":")[0]
        if key_day < day.isoformat():
            removed += client.delete(key)
    return removed
