"""A re-index fanned out to the workers: batches of page ids, progress read from the index rows,
and a run that picks up where an interrupted one stopped.

``reindex`` (the command) splits the pages into batches and queues one ``content.index_pages``
task per batch on the indexing queue; any number of workers, on any hosts, take them. The
command never reads Celery results (there is no result backend): it counts the
``PageIndexState`` rows written since the run began, and each batch leaves a small report in the
cache (Redis) with its totals and failures, so the summary line is the same as in-process.

Resuming: a run leaves a marker (its start time) in the cache until it completes. A new run of
the same selection finds it and skips every page whose index row was written after that start,
at the page's live revision and with the current embedder: those pages are done, and anything
that changed them since (a publish) queued its own index task. Without the marker (it completed,
or the cache lost it) every page is queued again, which is correct, only slower.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone
from wagtail.models import Page

from ai_core.rag.models import PageIndexState

from .indexing import page_index_sync, pages_needing_index

logger = logging.getLogger(__name__)

REPORT_TTL_S = 7 * 24 * 3600  # a report outlives any run; the marker lets a week-old run resume
TOTALS = ("chunks", "embedded", "reused", "removed", "stale")


@dataclass(kw_only=True)
class BatchReport:
    """What one batch did. Stored in the cache as a dict; summed by the command."""

    pages: int = 0
    skipped: int = 0
    unchanged: int = 0  # exactly as the last run left them: not chunked, not written
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    stale: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # page id (str: JSON keys) -> error

    def add(self, other: BatchReport) -> None:
        for name in ("pages", "skipped", "unchanged", *TOTALS):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed.update(other.failed)

    @classmethod
    def from_dict(cls, data: dict) -> BatchReport:
        return cls(**data)


@dataclass(kw_only=True)
class ReindexRun:
    run_id: str
    started_at: datetime
    page_ids: list[int]
    batches: list[list[int]]
    resumed_from: datetime | None = None
    skipped: int = 0  # pages already done by the interrupted run this one resumes


def _marker_key(selection: str) -> str:
    return f"reindex:unfinished:{selection}"


def _report_key(run_id: str, batch: int) -> str:
    return f"reindex:{run_id}:batch:{batch}"


def pages_indexed_since(*, page_ids: Iterable[int], since: datetime, embedder_id: str) -> set[int]:
    """Pages whose index row was written at or after ``since``, for the page's live revision, with
    ``embedder_id`` (or, for a page with no chunks, for no revision: it was removed then)."""
    ids = list(page_ids)
    live = dict(Page.objects.filter(pk__in=ids).values_list("pk", "live_revision_id"))
    done = set()
    rows = PageIndexState.objects.filter(page_id__in=ids, indexed_at__gte=since).filter(
        Q(embedder_id=embedder_id) | Q(embedder_id="")
    )
    for page_id, revision_id in rows.values_list("page_id", "page_revision_id"):
        if revision_id == live.get(page_id):  # both None: gone, and its removal is recorded
            done.add(page_id)
    return done


def pages_index_batch(
    *,
    page_ids: Sequence[int],
    skip_indexed_since: datetime | None = None,
    embedder_id: str = "",
    force: bool = False,
) -> BatchReport:
    """Index each page of a batch; one broken page is reported, never stops the others.

    ``skip_indexed_since``: a redelivered batch (its worker was killed) or a resumed run passes
    the run's start, and the pages finished since are not done twice. Pages whose index entry
    would not change are left alone, checked for the whole batch at once, unless ``force``.
    """
    report = BatchReport()
    todo = list(page_ids)
    if skip_indexed_since is not None:
        done = pages_indexed_since(page_ids=todo, since=skip_indexed_since, embedder_id=embedder_id)
        report.skipped = len(done)
        todo = [page_id for page_id in todo if page_id not in done]
    needing = pages_needing_index(page_ids=todo, force=force)
    report.unchanged = len(todo) - len(needing)
    todo = needing
    for position, page_id in enumerate(todo):
        try:
            outcome = page_index_sync(page_id=page_id)
        except SoftTimeLimitExceeded:
            # Say which pages were not done, rather than leave the command waiting for them.
            report.failed.update(dict.fromkeys(map(str, todo[position:]), "batch time limit exceeded"))
            break
        except Exception as err:  # reported to the command, which exits non-zero and can resume
            logger.exception("re-index of page %s failed", page_id)
            report.failed[str(page_id)] = f"{type(err).__name__}: {err}"
            continue
        report.pages += 1
        report.chunks += outcome.chunks
        report.embedded += outcome.embedded
        report.reused += outcome.reused
        report.removed += outcome.removed
        report.stale += outcome.stale_outputs
    return report


def batch_report_store(*, run_id: str, batch: int, report: BatchReport) -> None:
    cache.set(_report_key(run_id, batch), asdict(report), timeout=REPORT_TTL_S)


def batch_reports(*, run_id: str, batches: Iterable[int]) -> dict[int, BatchReport]:
    keys = {_report_key(run_id, n): n for n in batches}
    found = cache.get_many(list(keys))
    return {keys[key]: BatchReport.from_dict(value) for key, value in found.items()}


def reindex_run_plan(
    *, selection: str, page_ids: Sequence[int], embedder_id: str, batch_size: int, restart: bool = False
) -> ReindexRun:
    """Split the work into batches; resume the unfinished run of ``selection`` unless ``restart``."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = timezone.now()
    marker = None if restart else cache.get(_marker_key(selection))
    resumed_from = None
    todo = list(page_ids)
    skipped = 0
    if marker:
        resumed_from = datetime.fromisoformat(marker["started_at"])
        done = pages_indexed_since(page_ids=todo, since=resumed_from, embedder_id=embedder_id)
        skipped = len(done)
        todo = [page_id for page_id in todo if page_id not in done]
    started_at = resumed_from or now
    run = ReindexRun(
        run_id=uuid.uuid4().hex,
        # A resumed run keeps the first start: a page it finished before is still "done".
        started_at=started_at,
        page_ids=todo,
        batches=[todo[i : i + batch_size] for i in range(0, len(todo), batch_size)],
        resumed_from=resumed_from,
        skipped=skipped,
    )
    cache.set(_marker_key(selection), {"started_at": started_at.isoformat()}, timeout=REPORT_TTL_S)
    return run


def reindex_run_finish(*, selection: str) -> None:
    """Every batch reported and none failed: the next run starts from scratch."""
    cache.delete(_marker_key(selection))


def pages_indexed_count(*, run: ReindexRun, all_pages: bool) -> int:
    """Index rows written since the run started (the progress bar). For ``--all`` the count is
    not filtered by id (a million-id ``IN`` list per poll would cost more than the rows)."""
    rows = PageIndexState.objects.filter(indexed_at__gte=run.started_at)
    if not all_pages:
        return rows.filter(page_id__in=run.page_ids).count()
    # A resumed run counts from the first start: the pages that run finished are not this one's.
    return max(0, rows.count() - run.skipped)
