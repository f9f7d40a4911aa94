"""A copy of each user's ``BudgetOverride`` in Redis, read by the budget's Lua step at submit.

Every signed-in submit used to SELECT its override before reserving; the reservation already runs
one Lua script in Redis, so the limit is read there instead. PostgreSQL stays the source of truth:

- a missing copy makes the reservation ask the database and store what it found (``SET NX``, "0"
  for "no override"), then reserve with that limit, so an empty or flushed Redis costs one SELECT;
- a save or delete drops the copy at once (the same transaction's next submit reads the database,
  which already sees the change) and writes the committed value after commit, overwriting a copy
  that a concurrent submit may have filled from the pre-commit row;
- copies expire after ``MIRROR_TTL_S``, which bounds how long a copy can stay wrong if Redis
  could not be written when an override changed (submits are refused while Redis is down anyway).

So a lowered override applies to the very next submit, in any web process.
"""

from __future__ import annotations

import logging

import redis
from django.db import transaction

from ai_core.resilience.runtime import redis_key, shared_redis

logger = logging.getLogger(__name__)

MIRROR_TTL_S = 300
NO_OVERRIDE = 0


def override_mirror_key(user_id: int) -> str:
    return redis_key("budget-override", user_id)


def override_mirror_fill(*, user_id: int, daily_tokens: int | None) -> None:
    """Store what the database said, unless a save's write got there first (``NX``)."""
    shared_redis().set(override_mirror_key(user_id), daily_tokens or NO_OVERRIDE, nx=True, ex=MIRROR_TTL_S)


def override_mirror_changed(*, user_ids: list[int], daily_tokens: int | None) -> None:
    """An override of these users was saved (``daily_tokens``) or deleted (``None``): drop the copies
    now and write the committed value once the transaction commits."""
    keys = [override_mirror_key(user_id) for user_id in user_ids]
    try:
        shared_redis().delete(*keys)
    except redis.RedisError:
        logger.exception("budget override copy not dropped; it expires within %s s", MIRROR_TTL_S)

    def write() -> None:
        try:
            pipe = shared_redis().pipeline()
            for key in keys:
                pipe.set(key, daily_tokens or NO_OVERRIDE, ex=MIRROR_TTL_S)
            pipe.execute()
        except redis.RedisError:
            logger.exception("budget override copy not written; it expires within %s s", MIRROR_TTL_S)

    transaction.on_commit(write)
