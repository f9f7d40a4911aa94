"""The live prompt cache: in-process between checks, invalidated in every process by a Redis stamp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from ai_core.live_prompts.cache import STAMP_KEY, StampedCache, bump_stamp, read_stamp
from ai_core.models.prompts import ungated_publish
from ai_core.prompts.registry import get_prompt

REPO_ROOT = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Stamp:
    """Stands in for the shared Redis stamp, so these tests cannot see other processes' publishes."""

    def __init__(self) -> None:
        self.value: str | None = "s1"

    def __call__(self) -> str | None:
        return self.value


def counting_cache() -> tuple[StampedCache, Clock, Stamp, list[str]]:
    clock, stamp, loads = Clock(), Stamp(), []

    def load(key: str) -> str:
        loads.append(key)
        return f"{key}#{len(loads)}"

    return StampedCache(load, check_seconds=lambda: 1.0, clock=clock, stamp=stamp), clock, stamp, loads


def test_values_are_served_from_memory_while_the_stamp_is_unchanged() -> None:
    cache, clock, stamp, loads = counting_cache()
    first = cache.get("a")
    clock.now += 5
    assert cache.get("a") == first
    assert loads == ["a"]


def test_a_new_stamp_is_seen_at_the_next_check_not_before() -> None:
    cache, clock, stamp, loads = counting_cache()
    cache.get("a")
    stamp.value = "s2"  # another process published
    clock.now += 0.5
    assert cache.get("a") == "a#1"  # within the check interval: still the cached value
    clock.now += 0.6
    assert cache.get("a") == "a#2"


def test_an_unknown_stamp_means_no_caching() -> None:
    cache, clock, stamp, loads = counting_cache()
    stamp.value = None  # Redis unreachable
    cache.get("a")
    clock.now += 1.1
    cache.get("a")
    assert loads == ["a", "a"]


def test_bumping_in_this_process_clears_its_caches_at_once() -> None:
    cache, clock, stamp, loads = counting_cache()
    cache.get("a")
    bump_stamp()
    assert cache.get("a") == "a#2"


def test_the_redis_stamp_is_created_once_and_changed_by_each_bump() -> None:
    from django.core.cache import cache

    cache.delete(STAMP_KEY)
    created = read_stamp()
    assert created and read_stamp() == created
    assert bump_stamp() == read_stamp() != created


def test_an_unreachable_redis_reads_as_an_unknown_stamp(monkeypatch) -> None:
    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr("ai_core.live_prompts.cache.cache.get", down)
    assert read_stamp() is None


@pytest.mark.django_db
def test_publishing_bumps_the_stamp_after_commit(live_prompt, django_capture_on_commit_callbacks) -> None:
    from django.core.cache import cache as django_cache

    before = read_stamp()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        live_prompt("rag_answer", version=4)
    assert django_cache.get(STAMP_KEY) == before  # nothing announced before the commit
    for callback in callbacks:
        callback()
    assert django_cache.get(STAMP_KEY) != before


def _subprocess_env() -> dict[str, str]:
    from django.db import connection

    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "PYTHONUNBUFFERED": "1",
    }


def _next_report(proc: subprocess.Popen) -> dict:
    """Blocks until the poller reports; it gives up (and says so) after its own timeout."""
    line = proc.stdout.readline()
    assert line, f"poller exited without reporting; stderr:\n{proc.stderr.read()}"
    report = json.loads(line)
    assert not report.get("timeout"), f"poller gave up still seeing v{report['version']}"
    return report


@pytest.mark.django_db(transaction=True)
def test_a_publish_reaches_another_process_within_five_seconds(live_prompt, record_property) -> None:
    """Two processes: this one publishes, a poller (default 1 s check interval) must see it in < 5 s."""
    row = live_prompt("rag_answer", version=11)
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("poll_prompt.py")), "rag_answer", "--until", "12"],
        cwd=REPO_ROOT,
        env=_subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = _next_report(proc)
        assert first["version"] == 11
        time.sleep(1.5)  # the poller now serves v11 from memory and has re-checked the stamp since

        draft = row.get_latest_revision_as_object()
        draft.description = "Published while another process was serving v11."
        draft.version = 12
        draft.full_clean()
        with ungated_publish("cross-process test"):
            draft.save_revision().publish()  # autocommit: the stamp is bumped on return
        published_at = time.time()

        second = _next_report(proc)
        propagation = second["at"] - published_at
    finally:
        proc.kill()
        proc.wait()
    record_property("propagation_seconds", round(propagation, 3))
    print(
        f"\ncross-process propagation: {propagation:.3f} s (check interval {settings.AI_CORE.get('LIVE_PROMPT_CHECK_SECONDS')} s)"
    )
    assert second["version"] == 12
    assert propagation < 5.0
    # It served from memory in between: ~1.5 s of polling every 10 ms cost a couple of DB reads, not ~150.
    assert second["loads"] - first["loads"] <= 3
    assert get_prompt("rag_answer").version == 12
