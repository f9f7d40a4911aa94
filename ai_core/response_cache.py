"""Exact-repeat response cache in Redis.

Keyed by prompt key + version + a hash of the fully rendered prompt (sources included), so an
answer is reused only for the very same question over the very same source text. Entries are also
indexed by the chunks they cite so the freshness rules can delete them when a page changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import redis

from ai_core import conf
from ai_core.resilience.runtime import redis_key, shared_redis

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class CachedResponse:
    text: str
    provider: str
    model: str
    citations: list = field(default_factory=list)
    cited_chunk_ids: list = field(default_factory=list)


def cache_key(*, prompt_key: str, prompt_version: int, system: str, user: str, tier: str) -> str:
    digest = hashlib.sha256(json.dumps([system, user, tier]).encode()).hexdigest()
    return redis_key("rcache", prompt_key, f"v{prompt_version}", digest)


def response_cache_get(key: str, *, fallback: bool = False) -> CachedResponse | None:
    """A cached answer, or None. Redis being unreachable is a miss: the cache only saves money, and
    a visitor should get a generated answer rather than an error while Redis restarts."""
    try:
        raw = shared_redis().get(f"{key}:last" if fallback else key)
    except (redis.ConnectionError, redis.TimeoutError):
        logger.warning("response cache unreachable: treated as a miss")
        return None
    return CachedResponse(**json.loads(raw)) if raw else None


def response_cache_put(key: str, response: CachedResponse) -> None:
    try:
        _put(key, response)
    except (redis.ConnectionError, redis.TimeoutError):
        logger.warning("response cache unreachable: answer not cached")


def _put(key: str, response: CachedResponse) -> None:
    client = shared_redis()
    ttl, fallback_ttl = conf.setting("RESPONSE_CACHE_TTL"), conf.setting("RESPONSE_CACHE_FALLBACK_TTL")
    data = json.dumps(asdict(response))
    pipe = client.pipeline()
    pipe.set(key, data, ex=ttl)
    pipe.set(f"{key}:last", data, ex=fallback_ttl)
    for chunk_id in response.cited_chunk_ids:
        index = redis_key("rcache", "bychunk", chunk_id)
        pipe.sadd(index, key)
        pipe.expire(index, fallback_ttl)
    pipe.execute()


def response_cache_invalidate_chunks(chunk_ids: Iterable[object]) -> int:
    """Forget every cached answer that cited any of ``chunk_ids``. Returns how many were dropped."""
    client = shared_redis()
    dropped = 0
    for chunk_id in chunk_ids:
        index = redis_key("rcache", "bychunk", chunk_id)
        keys = [key.decode() for key in client.smembers(index)]
        if keys:
            client.delete(*keys, *(f"{key}:last" for key in keys))
            dropped += len(keys)
        client.delete(index)
    return dropped


def on_outputs_marked_stale(sender, request_ids, **kwargs) -> None:
    """Freshness: answers built on chunks that changed must not be served from the cache again."""
    from ai_core.models import AIRequest

    chunk_ids = {
        chunk_id
        for ids in AIRequest.objects.filter(pk__in=request_ids).values_list("cited_chunk_ids", flat=True)
        for chunk_id in ids or []
    }
    response_cache_invalidate_chunks(chunk_ids)
