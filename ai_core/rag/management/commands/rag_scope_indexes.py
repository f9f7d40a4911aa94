"""Create and drop the scope indexes: a partial HNSW index per (vector size, site, locale) for the
scopes holding a small share of the chunks (``ai_core.rag.services.scope_indexes``).

A question asked on a site in one language then walks a graph of that scope's chunks only,
instead of the full index's graph with most of what it visits filtered out. Idempotent: run it
after a bulk import, a new site or locale, or from a daily cron; it changes nothing when nothing
moved. ``--plan`` shows what it would do.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ai_core.rag.services.scope_indexes import (
    DEFAULT_MAX_SHARE,
    DEFAULT_MIN_ROWS,
    ScopeIndexEntry,
    ScopeIndexError,
    scope_indexes_sync,
)

VERBS = {
    "create": "create",
    "rebuild": "rebuild",
    "drop": "drop",
    "keep": "keep (exists)",
    "none": "no index",
}


class Command(BaseCommand):
    help = "Create the partial HNSW indexes of the small site+locale scopes, drop those no longer wanted."

    def add_arguments(self, parser):
        parser.add_argument(
            "--plan", action="store_true", help="Print each scope and the action; change nothing."
        )
        parser.add_argument(
            "--max-share",
            type=float,
            default=DEFAULT_MAX_SHARE,
            help=f"A scope qualifies below this share of its vector size's rows (default {DEFAULT_MAX_SHARE}).",
        )
        parser.add_argument(
            "--min-rows",
            type=int,
            default=DEFAULT_MIN_ROWS,
            help=f"... and with at least this many rows (default {DEFAULT_MIN_ROWS:,}). An existing index is "
            "dropped only once its scope is 20%% past either limit, so a scope at a limit does not flap.",
        )
        parser.add_argument(
            "--maintenance-work-mem",
            metavar="SIZE",
            help="PostgreSQL maintenance_work_mem for the builds, e.g. 1GB (a graph that fits builds much faster).",
        )

    def handle(self, *args, plan: bool, max_share: float, min_rows: int, maintenance_work_mem, **options):
        try:
            entries, run = scope_indexes_sync(
                max_share=max_share,
                min_rows=min_rows,
                maintenance_work_mem=maintenance_work_mem,
                dry_run=plan,
                on_plan=lambda entries: self._print_plan(entries, max_share=max_share, min_rows=min_rows),
                progress=lambda line: self.stdout.write(line),
            )
        except ScopeIndexError as err:
            raise CommandError(str(err)) from err
        counts = {action: sum(e.action == action for e in entries) for action in VERBS}
        if run is None:
            self.stdout.write(
                f"Plan only: nothing changed. A run would create {counts['create'] + counts['rebuild']}, "
                f"drop {counts['drop'] + counts['rebuild']} and keep {counts['keep']}."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {len(run.created)} ({run.build_seconds:.1f}s), dropped {len(run.dropped)}, kept "
                f"{run.kept}; scope indexes now {run.size_bytes / 2**20:.1f} MB."
            )
        )

    def _print_plan(self, entries: list[ScopeIndexEntry], *, max_share: float, min_rows: int) -> None:
        self.stdout.write(
            f"Scopes (vector size, site, locale); qualify under {max_share:.0%} of the rows and from {min_rows:,} rows:"
        )
        if not entries:
            self.stdout.write("  no chunks of an indexed vector size: nothing to do.")
            return
        self.stdout.write(
            f"  {'dims':>5} {'site':>5} {'locale':<8} {'rows':>10} {'share':>6}  {'index':<40} action"
        )
        for e in entries:
            action = VERBS[e.action] + (f" ({e.reason})" if e.reason else "")
            site = "?" if e.site_id is None else str(e.site_id)
            self.stdout.write(
                f"  {e.dimensions:>5} {site:>5} {e.locale:<8} {e.rows:>10,} {e.share:>6.1%}  {e.name:<40} {action}"
            )
