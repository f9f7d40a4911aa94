"""Scope indexes: one partial HNSW index per (vector size, site, locale) that holds a small share
of the chunks (``manage.py rag_scope_indexes``).

A question asked on a site in a language is searched with the filter "this site's chunks and the
shared library documents, in this locale". Over the one HNSW index of every chunk the graph walk
visits about CANDIDATES ÷ share tuples before enough pass that filter: 800 at 5%, 10-12 ms of
database CPU at 100k chunks (docs/BENCHMARKS.md). A partial index whose predicate is exactly that
filter holds only the scope's rows, so its walk visits only tuples that pass.

PostgreSQL picks such an index by itself when it can prove the predicate from the query's WHERE,
so the predicate is built from the clauses the query uses (``scopes.SITE_SCOPE_SQL``) with
the values written in, and the query carries the values as literals (Django's psycopg backend
binds client-side). Nothing depends on the indexes for correctness: the filter stays in the
query, and a missing, dropped or half-built index only makes a scope's search slower. Rows are
added to and removed from a partial index by PostgreSQL as they are written, like any index;
only the *set* of indexes (which scopes qualify) needs this module, run again when content
shifts (a new site or locale, a bulk import).

Only indexes named with ``PREFIX`` are ever touched. Each one's scope is kept in its comment, so
an index whose scope or definition no longer qualifies is recognised and dropped.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from django.db import DatabaseError, connection, connections

from ..models import INDEXED_DIMENSIONS, KnowledgeChunk
from ..scopes import PLAIN_LOCALE, PREFIX, scope_index_definition, scope_index_name

# A scope holding at least this share of its vector size's rows gains little (the walk over the
# full index visits at most 1 / share times the tuples) and would double the index's size.
DEFAULT_MAX_SHARE = 0.5
# The full index's walk grows as a scope *shrinks* (about CANDIDATES ÷ share tuples, and past
# hnsw.max_scan_tuples a list comes back short), so small scopes gain the most; the floor only
# keeps the number of indexes (each one a planner check per question) in proportion.
DEFAULT_MIN_ROWS = 1_000
_LOCK_KEY = 0x7261675F73636F70  # "rag_scop": one run at a time per database
PROGRESS_EVERY = 15.0  # seconds between progress lines while an index builds
# An existing index is dropped only once its scope is this far past --min-rows or --max-share.
HYSTERESIS = 0.2


class ScopeIndexError(Exception):
    """Bad input or a state in which the scope indexes cannot be changed; the message says which."""


@dataclass(kw_only=True, frozen=True)
class ScopeIndexEntry:
    """One scope (or one of our indexes whose scope is gone), with what a run does about it."""

    dimensions: int
    site_id: int | None
    locale: str
    rows: int
    share: float
    name: str
    exists: bool
    valid: bool
    action: str  # "create" | "rebuild" | "keep" | "drop" | "none"
    reason: str = ""


@dataclass(kw_only=True, frozen=True)
class ScopeIndexRun:
    created: list[str]
    dropped: list[str]
    kept: int
    build_seconds: float
    size_bytes: int  # of every scope index after the run


def _existing() -> dict[str, tuple[bool, dict]]:
    """Our indexes on the chunk table: name -> (valid, scope from its comment)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, x.indisvalid, obj_description(i.oid, 'pg_class') FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = %s AND t.relnamespace = to_regnamespace(current_schema()) "
            "AND i.relname LIKE %s",
            [KnowledgeChunk._meta.db_table, PREFIX.replace("_", r"\_") + "%"],
        )
        rows = cursor.fetchall()
    found = {}
    for name, valid, comment in rows:
        try:
            scope = json.loads(comment or "{}")
        except ValueError:
            scope = {}
        found[name] = (bool(valid), scope if isinstance(scope, dict) else {})
    return found


def _live_site_ids() -> set[int]:
    from wagtail.models import Site

    return set(Site.objects.values_list("pk", flat=True))


def _scope_counts() -> tuple[dict[int, int], dict[tuple[int, int, str], int], dict[tuple[int, str], int]]:
    """Rows per vector size; per (size, site, locale) of the sites' own chunks; per (size, locale)
    of the shared library documents (no page, no site), which every site's scope includes."""
    totals: dict[int, int] = defaultdict(int)
    own: dict[tuple[int, int, str], int] = defaultdict(int)
    shared: dict[tuple[int, str], int] = defaultdict(int)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT dimensions, site_id, page_id IS NULL, locale, count(*) FROM {KnowledgeChunk._meta.db_table} "  # noqa: S608
            "WHERE dimensions = ANY(%s) GROUP BY 1, 2, 3, 4",
            [list(INDEXED_DIMENSIONS)],
        )
        for dims, site_id, library, locale, rows in cursor.fetchall():
            totals[dims] += rows
            if site_id is not None:
                own[(dims, site_id, locale)] += rows
            elif library:
                shared[(dims, locale)] += rows
    return totals, own, shared


def scope_index_plan(
    *,
    max_share: float = DEFAULT_MAX_SHARE,
    min_rows: int = DEFAULT_MIN_ROWS,
    site_ids: Iterable[int] | None = None,
) -> list[ScopeIndexEntry]:
    """Every scope with chunks, and every index of ours, with what a run would do; changes nothing.

    A scope qualifies while its site exists (``site_ids``, default: the Wagtail sites), it holds at
    least ``min_rows`` rows and less than ``max_share`` of its vector size's rows.
    """
    if not 0 < max_share <= 1:
        raise ScopeIndexError(
            f"--max-share must be above 0 and at most 1 (a share of the rows), got {max_share}"
        )
    if min_rows < 1:
        raise ScopeIndexError(f"--min-rows must be at least 1, got {min_rows}")
    live = set(_live_site_ids() if site_ids is None else site_ids)
    existing = _existing()
    totals, own, shared = _scope_counts()
    entries: list[ScopeIndexEntry] = []
    for dims, total in sorted(totals.items()):
        sites = live | {site for (d, site, _) in own if d == dims}
        locales = {loc for (d, _, loc) in own if d == dims} | {loc for (d, loc) in shared if d == dims}
        for site_id in sorted(sites):
            for locale in sorted(locales):
                rows = own.get((dims, site_id, locale), 0) + shared.get((dims, locale), 0)
                if not rows or not PLAIN_LOCALE.match(locale):
                    continue
                share = rows / total
                name = scope_index_name(dimensions=dims, site_id=site_id, locale=locale)
                found = existing.pop(name, None)
                exists, valid = found is not None, bool(found and found[0])
                entries.append(
                    _decide(
                        dims=dims, site_id=site_id, locale=locale, rows=rows, share=share, name=name,
                        exists=exists, valid=valid, live=site_id in live, max_share=max_share, min_rows=min_rows,
                    )
                )  # fmt: skip
    for name, (valid, scope) in sorted(existing.items()):
        entries.append(
            ScopeIndexEntry(
                dimensions=int(scope.get("dimensions") or 0),
                site_id=scope.get("site"),
                locale=str(scope.get("locale") or "?"),
                rows=0,
                share=0.0,
                name=name,
                exists=True,
                valid=valid,
                action="drop",
                reason="no chunks in this scope any more, or an older definition",
            )
        )
    return entries


def _decide(
    *,
    dims: int,
    site_id: int,
    locale: str,
    rows: int,
    share: float,
    name: str,
    exists: bool,
    valid: bool,
    live: bool,
    max_share: float,
    min_rows: int,
) -> ScopeIndexEntry:
    # An index that exists keeps serving until its scope is past a limit by more than the band,
    # so a scope hovering at a limit is not dropped and rebuilt on alternate runs.
    if exists and valid:
        min_rows, max_share = math.ceil(min_rows * (1 - HYSTERESIS)), min(1.0, max_share * (1 + HYSTERESIS))
    if not live:
        reason = f"site {site_id} does not exist (its chunks are left over)"
    elif rows < min_rows:
        reason = f"{rows:,} rows, under --min-rows {min_rows:,} (the site/locale btree serves it)"
    elif share >= max_share:
        reason = f"{share:.0%} of the rows, not under --max-share {max_share:.0%} (the full index serves it)"
    else:
        reason = ""
    if reason:
        action = "drop" if exists else "none"
    else:
        action = "keep" if exists and valid else ("rebuild" if exists else "create")
        if action == "rebuild":
            reason = "left invalid by an interrupted build"
    return ScopeIndexEntry(
        dimensions=dims, site_id=site_id, locale=locale, rows=rows, share=share, name=name,
        exists=exists, valid=valid, action=action, reason=reason,
    )  # fmt: skip


def scope_indexes_sync(
    *,
    max_share: float = DEFAULT_MAX_SHARE,
    min_rows: int = DEFAULT_MIN_ROWS,
    maintenance_work_mem: str | None = None,
    dry_run: bool = False,
    site_ids: Iterable[int] | None = None,
    on_plan: Callable[[list[ScopeIndexEntry]], None] = lambda entries: None,
    progress: Callable[[str], None] = lambda line: None,
) -> tuple[list[ScopeIndexEntry], ScopeIndexRun | None]:
    """Plan, then (unless ``dry_run``) drop the indexes no longer wanted and build the missing ones.

    Everything runs ``CONCURRENTLY``: questions and indexing go on while an index builds, and a
    scope is served by the full index until its own one is valid. One run at a time per database
    (an advisory lock); a build interrupted halfway leaves an invalid index that the next run
    rebuilds. ``maintenance_work_mem`` (e.g. "1GB") is set for this session's builds only.
    """
    if connection.in_atomic_block:
        raise ScopeIndexError("scope indexes are built CONCURRENTLY, which cannot run inside a transaction")
    with _session_settings(maintenance_work_mem), nullcontext() if dry_run else _one_run():
        entries = scope_index_plan(max_share=max_share, min_rows=min_rows, site_ids=site_ids)
        on_plan(entries)
        if dry_run:
            return entries, None
        return entries, _apply(entries, progress=progress)


def _apply(entries: list[ScopeIndexEntry], *, progress: Callable[[str], None]) -> ScopeIndexRun:
    drops = [e for e in entries if e.action in ("drop", "rebuild")]
    builds = [e for e in entries if e.action in ("create", "rebuild")]
    with connection.cursor() as cursor:
        for entry in drops:
            progress(f"dropping {entry.name} ({entry.reason})")
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {entry.name}")
    seconds = 0.0
    for n, entry in enumerate(builds, 1):
        progress(
            f"[{n}/{len(builds)}] building {entry.name}: {entry.dimensions} dims, site {entry.site_id}, "
            f"locale {entry.locale}, {entry.rows:,} rows ({entry.share:.1%})"
        )
        started = time.monotonic()
        _build(entry, progress=progress)
        took = time.monotonic() - started
        seconds += took
        progress(f"    built in {took:.1f}s, {_size(entry.name) / 2**20:.1f} MB")
    return ScopeIndexRun(
        created=[e.name for e in builds],
        dropped=[e.name for e in drops if e.action == "drop"],
        kept=sum(e.action == "keep" for e in entries),
        build_seconds=seconds,
        size_bytes=sum(_size(name) for name in _existing()),
    )


def _build(entry: ScopeIndexEntry, *, progress: Callable[[str], None]) -> None:
    assert entry.site_id is not None  # noqa: S101 (only scopes with a site are built)
    definition = scope_index_definition(
        dimensions=entry.dimensions, site_id=entry.site_id, locale=entry.locale
    )
    scope = {"dimensions": entry.dimensions, "site": entry.site_id, "locale": entry.locale}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        done = threading.Event()
        watcher = threading.Thread(target=_watch, args=(pid, entry.name, done, progress), daemon=True)
        watcher.start()
        try:
            cursor.execute(f"CREATE INDEX CONCURRENTLY {entry.name} {definition}")
            cursor.execute(f"COMMENT ON INDEX {entry.name} IS %s", [json.dumps(scope, sort_keys=True)])
        except DatabaseError as err:
            # An interrupted concurrent build leaves an invalid index behind: remove it now if we
            # can (the next run would otherwise rebuild it).
            try:
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {entry.name}")
            except DatabaseError:
                pass
            raise ScopeIndexError(f"building {entry.name} failed: {err}") from err
        finally:
            done.set()
            watcher.join()


def _watch(pid: int, name: str, done: threading.Event, progress: Callable[[str], None]) -> None:
    """Every PROGRESS_EVERY seconds of a build, one line from pg_stat_progress_create_index (on
    this thread's own connection, opened only if the build lasts that long)."""
    try:
        while not done.wait(PROGRESS_EVERY):
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index WHERE pid = %s",
                    [pid],
                )
                row = cursor.fetchone()
            if row:
                phase, tuples_done, tuples_total = row
                counts = f", tuples {tuples_done:,}/{tuples_total:,}" if tuples_total else ""
                progress(f"    {name}: {phase}{counts}")
    finally:
        connections["default"].close()


def _size(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(pg_relation_size(to_regclass(%s)), 0)", [name])
        return int(cursor.fetchone()[0])


@contextmanager
def _session_settings(maintenance_work_mem: str | None) -> Iterator[None]:
    """``maintenance_work_mem`` for this session's builds (PostgreSQL checks the value: a bad one
    is an error naming the option), and no statement timeout: a build may take minutes."""
    with connection.cursor() as cursor:
        if maintenance_work_mem is not None:
            try:
                cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [maintenance_work_mem])
            except DatabaseError as err:
                raise ScopeIndexError(
                    f"--maintenance-work-mem {maintenance_work_mem!r} is not a memory size PostgreSQL "
                    f"accepts (e.g. 512MB, 2GB): {str(err).strip()}"
                ) from err
        cursor.execute("SELECT set_config('statement_timeout', '0', false)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute("RESET statement_timeout")


@contextmanager
def _one_run() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            raise ScopeIndexError(
                "another rag_scope_indexes run is working on this database; try again later"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
