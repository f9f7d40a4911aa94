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

# KEYS: counters; ARGV: tokens, ttl, limit_1 .. limit_n. Either every counter takes the tokens or none.
_RESERVE = """
local tokens = tonumber(ARGV[1])
local used = {}
for i, key in ipairs(KEYS) do
  used[i] = tonumber(redis.call('GET', key) or '0')
  if used[i] + tokens > tonumber(ARGV[i + 2]) then
    return {0, i, used[i]}
  end
end
local worst = 0
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, tokens)
  redis.call('EXPIRE', key, ARGV[2])
  local share = (used[i] + tokens) * 1000000 / tonumber(ARGV[i + 2])
  if share > worst then worst = share end
end
return {1, 0, math.floor(worst)}
"""


@dataclass(kw_only=True, frozen=True)
class Scope:
    name: str  # "site", "pool:anonymous", "user:42", "anon:<session>", "anon-ip:<client key>"
    limit: int


@dataclass(kw_only=True, frozen=True)
class ReserveResult:
    ok: bool
    keys: tuple[str, ...] = ()
    rejected_scope: str = ""
    used: int = 0
    share_after: float = 0.0  # the highest used/limit share after reserving


def counter_key(prefix: str, day: dt.date, scope: str) -> str:
    return f"{prefix}:{day.isoformat()}:{scope}"


def reserve(
    client: redis.Redis, *, prefix: str, day: dt.date, scopes: Sequence[Scope], tokens: int
) -> ReserveResult:
    keys = [counter_key(prefix, day, scope.name) for scope in scopes]
    ok, index, value = client.eval(_RESERVE, len(keys), *keys, tokens, KEY_TTL_S, *(s.limit for s in scopes))
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
