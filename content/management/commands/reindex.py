"""Re-index pages into the knowledge store, in this process, with a progress bar and a summary.

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
from content.indexing import ReindexEstimate, page_index_sync, pages_to_reindex, reindex_estimate


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
        parser.add_argument(
            "--dry-run", action="store_true", help="Estimate work, tokens and cost; change nothing."
        )

    def _progress(self, done: int, total: int, started: float) -> None:
        """Redrawn in place on a terminal; in a log, one line per tenth of the work."""
        interactive = self.stdout.isatty()
        if not total or (not interactive and done != total and done % max(1, total // 10)):
            return
        width = 30
        filled = int(width * done / total)
        rate = done / max(time.monotonic() - started, 1e-6)
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} pages  {rate:.1f} pages/s"
        if not interactive:
            line = line.lstrip("\r")
        self.stdout.write(line, ending="\n" if done == total or not interactive else "")
        if hasattr(self.stdout, "flush"):
            self.stdout.flush()

    def handle(self, *args, all_pages: bool, page: int | None, since: str | None, dry_run: bool, **options):
        since_at = parse_since(since) if since else None
        if page is not None and page < 1:
            raise CommandError("--page must be a positive page id")
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
        totals = {"chunks": 0, "embedded": 0, "reused": 0, "removed": 0, "stale": 0, "failed": 0}
        for done, page_id in enumerate(page_ids, start=1):
            try:
                outcome = page_index_sync(page_id=page_id)
            except Exception as err:  # keep going: one broken page must not stop a full re-index
                totals["failed"] += 1
                self.stderr.write(f"\npage {page_id}: {type(err).__name__}: {err}")
            else:
                totals["chunks"] += outcome.chunks
                totals["embedded"] += outcome.embedded
                totals["reused"] += outcome.reused
                totals["removed"] += outcome.removed
                totals["stale"] += outcome.stale_outputs
            self._progress(done, len(page_ids), started)
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-indexed {len(page_ids) - totals['failed']} page(s) in {elapsed:.1f}s: {totals['chunks']} chunks, "
                f"{totals['embedded']} embedded, {totals['reused']} reused, {totals['removed']} removed; "
                f"{totals['stale']} output(s) marked stale."
            )
        )
        others = KnowledgeChunk.objects.exclude(embedder_id=embedder.embedder_id).count()
        if others:
            self.stdout.write(
                self.style.WARNING(
                    f"{others} chunk(s) were made by another embedder and are not searchable now; "
                    "run `manage.py reindex --all`."
                )
            )
        if totals["failed"]:
            raise CommandError(f"{totals['failed']} page(s) failed to index; see the messages above.")

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
