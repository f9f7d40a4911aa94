"""A provider's answer kept in Redis from the moment it arrives until its request is stored.

Between the provider's last token and the commit that stores the answer, the worker writes the
call's usage row and the request to PostgreSQL. Should PostgreSQL fail there (a restart, a
failover), the task retries; without this copy the retry would ask the provider again, pay twice,
and the first call would never be logged. With it, the retry stores the answer it already has and
logs the first call once. Best effort: with Redis down too, the retry generates again, as before.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

import redis

from ai_core.providers.base import GenerationResult, Usage
from ai_core.resilience.runtime import redis_key, shared_redis

logger = logging.getLogger(__name__)

# Longer than a task's retries take; the recovery sweep expires a request after an hour.
KEPT_TTL_S = 3600


@dataclass(kw_only=True, frozen=True)
class KeptAnswer:
    attempt: int  # the task attempt whose call produced it (its usage row carries this number)
    result: GenerationResult


def _key(request_id: object) -> str:
    return redis_key("answer-kept", request_id)


def answer_keep(*, request_id: object, attempt: int, result: GenerationResult) -> None:
    data = json.dumps({"attempt": attempt, "result": asdict(result)})
    try:
        shared_redis().set(_key(request_id), data, ex=KEPT_TTL_S)
    except redis.RedisError as err:
        logger.warning("answer of ai_request %s not kept (Redis unavailable): %s", request_id, err)


def answer_kept(*, request_id: object) -> KeptAnswer | None:
    try:
        raw = shared_redis().get(_key(request_id))
    except redis.RedisError:
        return None
    if raw is None:
        return None
    data = json.loads(raw)
    fields = data["result"]
    result = GenerationResult(**{**fields, "usage": Usage(**fields["usage"])})
    return KeptAnswer(attempt=int(data["attempt"]), result=result)


def answer_kept_drop(*, request_id: object) -> None:
    try:
        shared_redis().delete(_key(request_id))
    except redis.RedisError:
        pass  # it expires; the request is stored, so no later attempt reads it
