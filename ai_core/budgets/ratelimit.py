"""Fixed-window request rate limits for anonymous visitors (Redis INCR + EXPIRE).

Identities are the session and the client key (``ai_core.clients.client_key``: the proxy-aware
client address, an IPv6 /64 as one), so neither a proxy nor a fresh IPv6 address per request
changes who is counted."""

from __future__ import annotations

import time

from ai_core import conf
from ai_core.resilience.runtime import redis_key, shared_redis


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__("rate limited")
        self.retry_after = retry_after


def rate_limit_check(*, identities: list[str]) -> None:
    """Count one request for each identity; raise ``RateLimited`` if any is over its window's limit."""
    if not identities:
        return
    limit = conf.setting("ANON_RATE_LIMIT")
    window = int(limit["PER_SECONDS"])
    bucket = int(time.time() // window)
    client = shared_redis()
    pipe = client.pipeline()
    keys = [redis_key("rate", bucket, identity) for identity in identities]
    for key in keys:
        pipe.incr(key)
        pipe.expire(key, window + 1)
    counts = pipe.execute()[::2]
    if any(count > limit["REQUESTS"] for count in counts):
        raise RateLimited(retry_after=window - int(time.time()) % window)
