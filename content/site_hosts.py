"""Per-process memo of which site serves a host and port, checked against a version in Redis.

``site_id_for_host`` runs for every question asked, and its SELECT was about an eighth of a
submit's CPU. Sites are few and rarely edited, so each web process keeps the answers it has
computed, tagged with a site version kept in Redis. A Site save or delete replaces that version at
once and again after commit (``site_hosts_changed``, connected in ``content.apps``), so every
process (all read the same key) recomputes on its next question, and a memo filled from the rows
before the commit is not kept. Reading the version is one Redis GET instead of a SQL query;
when Redis cannot be read, the answer comes from the database, uncached.

Only answers read outside a transaction (committed rows) are kept. ``migrate`` and ``flush`` replace
the version too (``post_migrate``). Other changes that bypass model signals (a ``QuerySet.update``,
SQL by hand, a restored database) are seen after ``MEMO_TTL_S`` at the latest, or at once after
``site_hosts_changed()`` is called.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable

import redis
from django.db import connection, transaction

from ai_core.resilience.runtime import shared_redis

logger = logging.getLogger(__name__)

MEMO_TTL_S = 60.0
MAX_ENTRIES = 256  # hosts are the site's own (ALLOWED_HOSTS has run), so few; a cap all the same

_lock = threading.Lock()
_memo: dict[tuple[str, int | None], int | None] = {}
_memo_version: bytes | None = None
_memo_filled_at = 0.0


def _version_key() -> str:
    # Keyed by the database the memo mirrors, not by a process's AI_REDIS_PREFIX: every process
    # reading these Site rows must see the same version, whatever namespace its AI state uses.
    db = connection.settings_dict
    return f"lectern:site-hosts-version:{db.get('HOST') or ''}:{db.get('PORT') or ''}:{db.get('NAME')}"


def _current_version() -> bytes:
    """A random token, replaced on every change. A missing key (Redis flushed or restarted empty)
    gets a new token, so no memo filled before outlives the state it was filled from."""
    client = shared_redis()
    version = client.get(_version_key())
    if version is None:
        client.set(_version_key(), secrets.token_hex(8), nx=True)
        version = client.get(_version_key()) or b""
    return version


def site_hosts_lookup(*, hostname: str, port: int | None, compute: Callable[[], int | None]) -> int | None:
    """The memoized answer for ``hostname:port`` at the current site version, else ``compute()``."""
    global _memo_version, _memo_filled_at
    try:
        version = _current_version()
    except redis.RedisError:
        return compute()
    key = (hostname, port)
    with _lock:
        fresh = _memo_version == version and time.monotonic() - _memo_filled_at < MEMO_TTL_S
        if fresh and key in _memo:
            return _memo[key]
    answer = compute()  # read after the version: a change committing meanwhile bumps it again
    if connection.in_atomic_block:
        # Inside a transaction the rows read may never commit (and a rollback sends no signal):
        # answer from them, but keep only what autocommit reads, i.e. committed rows.
        return answer
    with _lock:
        if _memo_version != version or time.monotonic() - _memo_filled_at >= MEMO_TTL_S:
            _memo.clear()
            _memo_version, _memo_filled_at = version, time.monotonic()
        if len(_memo) < MAX_ENTRIES:
            _memo[key] = answer
    return answer


def site_hosts_changed() -> None:
    """A site was saved or deleted: every process's memo is stale now and again after commit."""

    def bump() -> None:
        try:
            shared_redis().set(_version_key(), secrets.token_hex(8))
        except redis.RedisError:
            logger.warning(
                "site version not replaced (Redis); memoized site lookups expire within %s s", MEMO_TTL_S
            )

    with _lock:
        _memo.clear()  # this process at once, even when Redis cannot be written
    bump()
    transaction.on_commit(bump)
