"""A circuit breaker per provider+model, its state shared by every worker process through Redis.

closed    calls go through; failures are counted in a sliding window
open      after ``threshold`` failures within ``window_s``: calls fail fast for ``cooldown_s``
half-open after the cool-down exactly one caller (the probe) is let through; success closes the
          circuit, failure re-opens it for another cool-down

All transitions are Lua scripts, so concurrent workers never both take the probe or miss an opening.
Kept free of Django: it needs only a Redis client.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis

logger = logging.getLogger(__name__)

_ALLOW = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'closed' end
local opened_at = tonumber(redis.call('HGET', KEYS[1], 'opened_at'))
if tonumber(ARGV[1]) < opened_at + tonumber(ARGV[2]) then return 'open' end
if redis.call('SET', KEYS[2], ARGV[4], 'NX', 'EX', ARGV[3]) then return 'probe' end
return 'open'
"""

_FAILURE = """
local state = redis.call('HGET', KEYS[1], 'state')
if state then
  if redis.call('GET', KEYS[3]) == ARGV[5] then
    redis.call('HSET', KEYS[1], 'opened_at', ARGV[1])
    redis.call('DEL', KEYS[3])
    return 'reopened'
  end
  return 'open'
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[2])) + 1)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', ARGV[1])
  redis.call('DEL', KEYS[2])
  return 'opened'
end
return 'closed'
"""

_SUCCESS = """
if redis.call('HGET', KEYS[1], 'state') and redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return 'closed'
end
return 'unchanged'
"""


class CircuitOpenError(Exception):
    def __init__(self, name: str):
        super().__init__(f"circuit {name} is open")
        self.name = name


@dataclass(kw_only=True, frozen=True)
class BreakerConfig:
    threshold: int = 5
    window_s: float = 60.0
    cooldown_s: float = 30.0
    probe_timeout_s: float = 30.0


@dataclass(kw_only=True)
class Permit:
    """What ``allow`` granted: a normal call or the single half-open probe."""

    breaker: CircuitBreaker
    probe_token: str | None = None

    def success(self) -> str:
        return self.breaker.record_success(self)

    def failure(self) -> str:
        return self.breaker.record_failure(self)


class CircuitBreaker:
    def __init__(
        self,
        client: redis.Redis,
        name: str,
        config: BreakerConfig,
        *,
        prefix: str = "lectern:cb",
        on_transition: Callable[[str], None] | None = None,
    ):
        self.client = client
        self.name = name
        self.config = config
        # Told "opened", "reopened" or "closed" after the transition is committed in Redis.
        self.on_transition = on_transition
        self._state_key = f"{prefix}:{name}:state"
        self._failures_key = f"{prefix}:{name}:failures"
        self._probe_key = f"{prefix}:{name}:probe"
        self._openings_key = f"{prefix}:openings"

    def allow(self) -> Permit:
        """A permit for one call, or ``CircuitOpenError`` at once while the circuit is open."""
        token = uuid.uuid4().hex
        verdict = self._eval(
            _ALLOW,
            [self._state_key, self._probe_key],
            [time.time(), self.config.cooldown_s, int(self.config.probe_timeout_s), token],
        )
        if verdict == "open":
            raise CircuitOpenError(self.name)
        return Permit(breaker=self, probe_token=token if verdict == "probe" else None)

    def record_failure(self, permit: Permit | None = None) -> str:
        verdict = self._eval(
            _FAILURE,
            [self._state_key, self._failures_key, self._probe_key],
            [time.time(), self.config.window_s, self.config.threshold, uuid.uuid4().hex,
             (permit.probe_token if permit else None) or "-"],
        )  # fmt: skip
        if verdict == "opened":
            self.client.hincrby(self._openings_key, self.name, 1)
        if verdict in ("opened", "reopened"):
            self._notify(verdict)
        return verdict

    def record_success(self, permit: Permit | None = None) -> str:
        token = (permit.probe_token if permit else None) or "-"
        verdict = self._eval(_SUCCESS, [self._state_key, self._failures_key, self._probe_key], [token])
        if verdict == "closed":
            self._notify(verdict)
        return verdict

    def state(self) -> dict:
        raw = self.client.hgetall(self._state_key)
        failures = self.client.zcount(self._failures_key, time.time() - self.config.window_s, "+inf")
        if not raw:
            return {"name": self.name, "state": "closed", "recent_failures": failures}
        opened_at = float(raw[b"opened_at"])
        remaining = opened_at + self.config.cooldown_s - time.time()
        return {
            "name": self.name,
            "state": "open" if remaining > 0 else "half_open",
            "opened_at": opened_at,
            "retry_in_s": max(0.0, round(remaining, 1)),
        }

    def reset(self) -> None:
        self.client.delete(self._state_key, self._failures_key, self._probe_key)

    def _notify(self, transition: str) -> None:
        """Report a transition to the listener; a failing listener never fails the model call."""
        if self.on_transition is None:
            return
        try:
            self.on_transition(transition)
        except Exception:  # noqa: BLE001 - reporting is best-effort by design
            logger.exception("circuit %s: recording the %s transition failed", self.name, transition)

    def _eval(self, script: str, keys: list[str], args: list) -> str:
        result = self.client.eval(script, len(keys), *keys, *args)
        return result.decode() if isinstance(result, bytes) else str(result)


def openings(client: redis.Redis, *, prefix: str = "lectern:cb") -> dict[str, int]:
    """How often each circuit has opened (since Redis last restarted)."""
    return {key.decode(): int(value) for key, value in client.hgetall(f"{prefix}:openings").items()}
