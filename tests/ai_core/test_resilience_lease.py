"""The Redis lease behind "one S3 ingest per bucket+prefix": held while its holder lives, renewed by
a heartbeat, never stolen from a newer holder, gone within its TTL when the holder stops renewing."""

from __future__ import annotations

import pytest
from django.conf import settings

from ai_core.resilience.lease import Lease, lease
from tests.conftest import wait_for


@pytest.fixture
def key() -> str:
    return f"{settings.AI_CORE['REDIS_PREFIX']}:lease-test"


def test_a_second_holder_is_refused_while_the_first_holds_it(redis_client, key):
    with lease(redis_client, key, ttl_s=10) as first:
        assert first.held
        with lease(redis_client, key, ttl_s=10) as second:
            assert not second.held
    assert not redis_client.exists(key)
    with lease(redis_client, key, ttl_s=10) as third:
        assert third.held


def test_the_heartbeat_renews_the_lease_past_its_ttl(redis_client, key):
    seen: list[int] = []

    def renewed() -> bool:
        seen.append(redis_client.pttl(key))
        return len(seen) > 1 and seen[-1] > min(seen[:-1])  # the TTL went back up

    with lease(redis_client, key, ttl_s=1.5) as held:
        assert held.held
        wait_for(renewed, timeout=10, message=f"the lease was never renewed: {seen[-5:]}")
        assert not held.lost.is_set()


def test_a_lease_that_lapsed_and_was_taken_is_not_released_by_its_old_holder(redis_client, key):
    old = Lease(redis_client, key, ttl_s=1.5)
    assert old.acquire()
    redis_client.set(key, "someone-else", px=10_000)  # the old holder paused past its TTL
    assert old.lost.wait(10), "the heartbeat did not notice the lease was taken"
    old.release()
    assert redis_client.get(key) == b"someone-else"


def test_a_holder_that_stops_renewing_loses_the_lease_within_the_ttl(redis_client, key):
    redis_client.set(key, "dead-holder", px=1000)
    with lease(redis_client, key, ttl_s=10) as held:
        assert not held.held
    wait_for(lambda: not redis_client.exists(key), timeout=10)
    with lease(redis_client, key, ttl_s=10) as held:
        assert held.held
