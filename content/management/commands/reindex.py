"""Re-index pages into the knowledge store, with a progress bar and a summary.

``--all`` and ``--since`` fan the pages out to the Celery workers in batches (``--batch-size``)
on the indexing queue, so every worker on every host shares the work; the progress bar counts the
index rows the workers write (content/reindexing.py), not Celery results. An interrupted run
(Ctrl-C, a lost host) is resumed by running the same command again: pages already indexed since
that run began, at their live revision and with the current embedder, are skipped (``--restart``
does them all again). ``--in-process`` (and ``--page``) index here instead, one page after another.

``--documents`` re-indexes the document library instead (content/documents), in this process:
files whose content, title, URL and site are as last indexed are hashed and skipped, not extracted
(``--force`` redoes them).

``--dry-run`` chunks the pages and compares against what is stored, then reports how many chunks
would be embedded and an estimate of tokens and cost, before anything is spent. ``--all`` also
removes chunks of pages that no longer exist and re-embeds everything made by another embedder
(the fix after changing ``AI_CORE["DEFAULT_EMBEDDER"]``).
"""

from __future__ import annotations

import time
from datetime import datetime
from datetime import time as dt_time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ai_core import providers
from ai_core.conf import InvalidAICoreSettingError
from ai_core.rag.models import KnowledgeChunk
from ai_core.selectors import embedding_cost_estimate
from content.indexing import ReindexEstimate, pages_needing_index, pages_to_reindex, reindex_estimate
from content.reindexing import (
    BatchReport,
    batch_reports,
    pages_index_batch,
    pages_indexed_count,
    reindex_run_finish,
    reindex_run_plan,
)
from content.tasks import index_pages


def parse_since(value: str) -> datetime:
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = datetime.combine(day, dt_time.min)
    except ValueError:  # well-formed but impossible, e.g. month 13
        parsed = None
    if parsed is None:
        raise CommandError(f"--since {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class Command(BaseCommand):
    help = "Re-index pages into the knowledge index (chunk, embed changed chunks, store)."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--all",
            dest="all_pages",
            action="store_true",
            help="Every indexable page, plus clean-up of stale chunks.",
        )
        which.add_argument("--page", type=int, metavar="ID", help="One page by id.")
        which.add_argument("--since", metavar="DATE", help="Pages published at or after DATE.")
        which.add_argument(
            "--documents",
            action="store_true",
            help="Every document of the document library (in this process; unchanged files are skipped).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Estimate work, tokens and cost; change nothing."
        )
        self.add_arguments_fan_out(parser)

    def add_arguments_fan_out(self, parser) -> None:
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="Index in this process, one page after another, instead of on the workers.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=25, metavar="N", help="Pages per worker task (default 25)."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Chunk and store every page again, even those whose index entry would not change "
            "(--page always does).",
        )
        parser.add_argument(
            "--restart",
            action="store_true",
            help="Do every page again, even those an interrupted run of the same selection finished.",
        )
        parser.add_argument(
            "--stall-timeout",
            type=float,
            default=900.0,
            metavar="S",
            help="Give up when no page finishes for S seconds (default 900: longer than a redelivery).",
        )

    def _progress(self, done: int, total: int, started: float, *, unit: str = "pages") -> None:
        """Redrawn in place on a terminal; in a log, one line per tenth of the work."""
        interactive = self.stdout.isatty()
        tenth = done * 10 // total if total else 10
        if not total or (not interactive and done != total and tenth <= getattr(self, "_tenth_shown", -1)):
            return
        self._tenth_shown = tenth
        width = 30
        filled = int(width * done / total)
        rate = done / max(time.monotonic() - started, 1e-6)
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {unit}  {rate:.1f} {unit}/s"
        if not interactive:
            line = line.lstrip("\r")
        self.stdout.write(line, ending="\n" if done == total or not interactive else "")
        if hasattr(self.stdout, "flush"):
            self.stdout.flush()

    def handle(
        self,
        *args,
        all_pages: bool,
        page: int | None,
        since: str | None,
        dry_run: bool,
        in_process: bool,
        batch_size: int,
        restart: bool,
        stall_timeout: float,
        force: bool = False,
        documents: bool = False,
        **options,
    ):
        if documents:
            if dry_run:
                raise CommandError("--dry-run is not available with --documents")
            self._documents(force=force)
            return
        since_at = parse_since(since) if since else None
        if page is not None and page < 1:
            raise CommandError("--page must be a positive page id")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        page_ids = pages_to_reindex(all_pages=all_pages, page_id=page, since=since_at)
        if page is not None:
            from wagtail.models import Page

            if (
                not Page.objects.filter(pk=page).exists()
                and not KnowledgeChunk.objects.filter(page_id=page).exists()
            ):
                raise CommandError(f"no page with id {page}, and nothing indexed for it")
        embedder = providers.embedder()
        self.stdout.write(f"{len(page_ids)} page(s) to process with embedder {embedder.embedder_id}")
        started = time.monotonic()
        if dry_run:
            self._dry_run(page_ids, embedder, started)
            return
        if in_process or page is not None:
            totals = self._in_process(page_ids, started, force=force or page is not None)
        else:
            selection = "all" if all_pages else f"since:{since_at.isoformat()}"
            totals = self._fan_out(
                page_ids,
                selection=selection,
                all_pages=all_pages,
                embedder_id=embedder.embedder_id,
                batch_size=batch_size,
                restart=restart,
                stall_timeout=stall_timeout,
                force=force,
            )
        elapsed = time.monotonic() - started
        done = totals.pages
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-indexed {done} page(s) in {elapsed:.1f}s: {totals.chunks} chunks, "
                f"{totals.embedded} embedded, {totals.reused} reused, {totals.removed} removed; "
                f"{totals.stale} output(s) marked stale."
                + (
                    f" {totals.skipped} page(s) skipped, already done by the interrupted run."
                    if totals.skipped
                    else ""
                )
                + (
                    f" {totals.unchanged} unchanged page(s) left as they were (--force redoes them)."
                    if totals.unchanged
                    else ""
                )
            )
        )
        others = KnowledgeChunk.objects.exclude(embedder_id=embedder.embedder_id)
        pages_left = others.filter(page_id__isnull=False).count()
        files_left = others.filter(page_id__isnull=True).count()
        if pages_left:
            self.stdout.write(
                self.style.WARNING(
                    f"{pages_left} page chunk(s) were made by another embedder and are not searchable now; "
                    "run `manage.py reindex --all`."
                )
            )
        if files_left:
            self.stdout.write(
                self.style.WARNING(
                    f"{files_left} document or S3 chunk(s) were made by another embedder and are not "
                    "searchable now; run `manage.py reindex --documents` (library documents) and "
                    "`manage.py ingest_s3` (S3 objects)."
                )
            )
        if totals.failed:
            for page_id, error in sorted(totals.failed.items(), key=lambda item: int(item[0])):
                self.stderr.write(f"page {page_id}: {error}")
            raise CommandError(
                f"{len(totals.failed)} page(s) failed to index; see the messages above. "
                "Run the same command again to retry them (finished pages are skipped)."
            )

    def _documents(self, *, force: bool) -> None:
        """Every library document, one after another, with a progress bar; a file that cannot be
        read is listed with its status (and keeps what it had indexed), and fails the command."""
        from content.documents.indexing import documents_index_sync, documents_to_reindex

        ids = documents_to_reindex()
        embedder = providers.embedder()
        self.stdout.write(f"{len(ids)} document(s) to process with embedder {embedder.embedder_id}")
        started = time.monotonic()
        totals = documents_index_sync(
            document_ids=ids,
            force=force,
            progress=lambda done, _totals: self._progress(done, len(ids), started, unit="documents"),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-indexed {totals.documents} document(s) in {time.monotonic() - started:.1f}s: "
                f"{totals.chunks} chunks, {totals.embedded} embedded, {totals.reused} reused, "
                f"{totals.removed} removed; {totals.skipped} unchanged (--force redoes them)."
            )
        )
        for document_id, message in sorted(totals.not_indexed.items()):
            self.stderr.write(f"document {document_id} not indexed: {message}")
        for document_id, error in sorted(totals.failed.items()):
            self.stderr.write(f"document {document_id}: {error}")
        if totals.failed or totals.not_indexed:
            raise CommandError(
                f"{len(totals.failed) + len(totals.not_indexed)} document(s) could not be indexed; see above."
            )

    def _in_process(self, page_ids: list[int], started: float, *, force: bool) -> BatchReport:
        totals = BatchReport()
        done = 0
        step = 200  # unchanged pages are checked a batch at a time; the rest go one by one
        for start in range(0, len(page_ids), step):
            batch = page_ids[start : start + step]
            needing = set(pages_needing_index(page_ids=batch, force=force))
            for page_id in batch:
                # One page at a time, so a broken page is reported and the bar moves page by page.
                if page_id in needing:
                    totals.add(pages_index_batch(page_ids=[page_id], force=True))
                else:
                    totals.unchanged += 1
                done += 1
                self._progress(done, len(page_ids), started)
        return totals

    def _fan_out(
        self,
        page_ids: list[int],
        *,
        selection: str,
        all_pages: bool,
        embedder_id: str,
        batch_size: int,
        restart: bool,
        stall_timeout: float,
        force: bool,
    ) -> BatchReport:
        from site_config.celery_app import app
        from site_config.celery_routes import task_queue

        queue = task_queue(index_pages.name)
        if not app.conf.task_always_eager:
            self._require_worker(app, queue)
        run = reindex_run_plan(
            selection=selection,
            page_ids=page_ids,
            embedder_id=embedder_id,
            batch_size=batch_size,
            restart=restart,
        )
        if run.resumed_from:
            self.stdout.write(
                f"Resuming the run started {run.resumed_from:%Y-%m-%d %H:%M:%S %Z}: {run.skipped} page(s) "
                f"already done there are skipped (--restart does them again)."
            )
        self.stdout.write(f"{len(run.batches)} batch(es) of up to {batch_size} page(s) queued on {queue}")
        started = time.monotonic()
        started_at = run.started_at.isoformat()
        for number, batch in enumerate(run.batches):
            index_pages.apply_async(args=[batch, run.run_id, number, started_at, embedder_id, force])
        totals = BatchReport(skipped=run.skipped)
        pending = set(range(len(run.batches)))
        total = len(run.page_ids)
        last_done, last_change = -1, time.monotonic()
        while True:
            found = batch_reports(run_id=run.run_id, batches=pending)
            for report in found.values():
                totals.add(report)
            pending -= found.keys()
            finished_pages = (
                totals.pages + totals.skipped + totals.unchanged - run.skipped + len(totals.failed)
            )
            done = min(total, max(finished_pages, pages_indexed_count(run=run, all_pages=all_pages)))
            if not pending:
                done = total
            if done != last_done:
                self._progress(done, total, started)
                last_done, last_change = done, time.monotonic()
            if not pending:
                break
            if time.monotonic() - last_change > stall_timeout:
                raise CommandError(
                    f"no page finished for {stall_timeout:.0f}s; {total - done} page(s) of {total} not done. "
                    f"Is a worker consuming {queue}? Run the same command again to resume."
                )
            time.sleep(0.5)
        if not totals.failed:
            reindex_run_finish(selection=selection)
        return totals

    def _require_worker(self, app, queue: str) -> None:
        """Fail at once, rather than wait for nobody: some worker must consume the indexing queue."""
        try:
            replies = app.control.inspect(timeout=2.0).active_queues() or {}
        except Exception as err:  # broker down: say so, the same way
            raise CommandError(f"cannot reach the Celery broker ({err}); or run with --in-process") from err
        consumed = {q.get("name") for queues in replies.values() for q in queues or ()}
        if queue not in consumed:
            raise CommandError(
                f"no running worker consumes the indexing queue {queue!r} (found {len(replies)} worker(s), "
                f"on {', '.join(sorted(consumed)) or 'no queue'}); start one (docs/DEPLOYMENT.md) "
                "or run with --in-process"
            )

    def _dry_run(self, page_ids: list[int], embedder, started: float) -> None:
        total = ReindexEstimate(pages=0)
        for done, (_, estimate) in enumerate(reindex_estimate(page_ids), start=1):
            for name in ("pages", "chunks", "to_embed", "reusable", "to_remove", "tokens"):
                setattr(total, name, getattr(total, name) + getattr(estimate, name))
            self._progress(done, len(page_ids), started)
        try:
            cost = f"{embedding_cost_estimate(model=embedder.model, tokens=total.tokens):.6f} USD"
        except InvalidAICoreSettingError:  # no price for this model: say so rather than guess
            cost = "unknown (no price in AI_CORE['PRICES'])"
        self.stdout.write(
            f"Dry run, nothing changed: {total.pages} page(s), {total.chunks} chunks; would embed "
            f"{total.to_embed}, reuse {total.reusable}, remove {total.to_remove}.\n"
            f"Estimated embedding input: ~{total.tokens} tokens, cost {cost} ({embedder.model})."
        )
