"""Re-index throughput (pages/s): every chunk changed, one paragraph changed, nothing changed.

In-process ``page_index_sync`` (one page's full run) with the configured embedder (local MiniLM
by default) over synthetic ~500-word pages, then ``pages_index_sync`` (what ``reindex`` and its
batch tasks run: unchanged pages skipped a batch at a time, before chunking) over the same pages
and over ``--unchanged`` more, counting embedding calls and row writes (both must be 0). Pages are
created live without publishing (no signals fire) under a "rag-bench" section and deleted
afterwards. Run:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
      .venv/bin/python bench/rag_reindex_throughput.py [--pages 30] [--unchanged 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402
from rag_synthetic import TOPICS, bench_section, paragraph, remove_bench_pages  # noqa: E402
from wagtail.rich_text import RichText  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.models import LLMUsageLog  # noqa: E402
from ai_core.rag.models import KnowledgeChunk, PageIndexState  # noqa: E402
from content.indexing import page_index_sync, pages_index_sync  # noqa: E402
from content.models import ArticlePage  # noqa: E402


def make_pages(section, count: int, rng: random.Random, *, prefix: str = "reindex-bench") -> list[int]:
    ids = []
    for n in range(count):
        body = []
        for s in range(4):
            body.append(("heading", {"text": f"Part {s + 1}: {rng.choice(TOPICS)}", "level": "h2"}))
            body += [("paragraph", RichText(f"<p>{paragraph(rng, 60)}</p>")) for _ in range(2)]
        page = ArticlePage(title=f"Reindex bench {prefix} {n}", slug=f"{prefix}-{n}", body=body, live=True)
        section.add_child(instance=page)
        ids.append(page.pk)
        if count >= 200 and (n + 1) % (count // 10) == 0:
            print(f"  created {n + 1}/{count} pages", flush=True)
    return ids


def timed_pass(ids: list[int]) -> tuple[float, int, int]:
    embedded = reused = 0
    started = time.monotonic()
    for page_id in ids:
        outcome = page_index_sync(page_id=page_id)
        embedded += outcome.embedded
        reused += outcome.reused
    return time.monotonic() - started, embedded, reused


def timed_batched_pass(ids: list[int]) -> tuple[float, int, int, int, int]:
    """``pages_index_sync`` over ``ids``: seconds, chunks embedded, reused, embedding calls, row writes."""
    # Only these pages' usage rows: another process sharing the database may be embedding too.
    usage = LLMUsageLog.objects.filter(
        operation=LLMUsageLog.Operation.EMBEDDING, subject_type="page", subject_id__in=[str(i) for i in ids]
    )
    calls_before = usage.count()
    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        totals = pages_index_sync(page_ids=ids)
        seconds = time.monotonic() - started
    writes = sum(1 for q in queries if q["sql"].lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"))
    calls = usage.count() - calls_before
    if totals.failed:
        first = next(iter(totals.failed.items()))
        raise SystemExit(f"{len(totals.failed)} page(s) failed to index, e.g. page {first[0]}: {first[1]}")
    return seconds, totals.embedded, totals.reused, calls, writes


@contextmanager
def unchanged_embedder(dotted: str) -> Iterator[str]:
    """Swap the default embedder through settings, as a project would configure one."""
    from django.conf import settings

    saved = settings.AI_CORE
    if dotted:
        settings.AI_CORE = {
            **saved,
            "EMBEDDERS": {**saved["EMBEDDERS"], "bench-unchanged": {"CLASS": dotted}},
            "DEFAULT_EMBEDDER": "bench-unchanged",
            # A usage row is written per embedding call, and needs the model's price.
            "PRICES": {
                **saved["PRICES"],
                import_string(dotted).model: dict.fromkeys(
                    ("input", "output", "cache_read", "cache_write"), "0"
                ),
            },
        }
        providers.reset_providers()
    try:
        yield providers.embedder().embedder_id
    finally:
        settings.AI_CORE = saved
        providers.reset_providers()


def print_table(args, rows, batched) -> None:
    chunks = rows[0][2]
    print(f"\nRe-index throughput, {args.pages} pages (~500 words, {chunks / args.pages:.1f} chunks each), "
          f"embedder {providers.embedder().embedder_id}")  # fmt: skip
    print(f"{'pass':<40} {'pages':>6} {'pages/s':>8} {'chunks embedded':>16} {'reused':>7} {'embed calls':>12} {'row writes':>11}")  # fmt: skip
    for name, seconds, embedded, reused in rows:
        print(f"{name:<40} {args.pages:>6} {args.pages / seconds:>8.1f} {embedded:>16} {reused:>7} {'':>12} {'':>11}")  # fmt: skip
    for name, pages, seconds, embedded, reused, calls, writes in batched:
        print(f"{name:<40} {pages:>6} {pages / seconds:>8.1f} {embedded:>16} {reused:>7} {calls:>12} {writes:>11}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--unchanged", type=int, default=2000, help="extra pages for the unchanged pass")
    parser.add_argument(
        "--unchanged-embedder",
        metavar="DOTTED",
        default="",
        help="embedder class for the extra pages (their first index is not what is timed; the unchanged "
        "pass never embeds), e.g. tests.rag.fakes.HashEmbedder; default: the configured embedder",
    )
    args = parser.parse_args()
    rng = random.Random(11)
    providers.embedder().embed(["warm up"])  # load the model outside the timings
    section = bench_section()
    ids = make_pages(section, args.pages, rng)
    rows = []
    try:
        rows.append(("all chunks new (first index)", *timed_pass(ids)))
        for page_id in ids:  # one paragraph changed on every page
            page = ArticlePage.objects.get(pk=page_id)
            raw = list(page.body.raw_data)
            raw[1] = {**raw[1], "value": f"<p>{paragraph(rng, 60)}</p>"}
            page.body = raw
            page.save()
        rows.append(("one paragraph changed per page", *timed_pass(ids)))
        rows.append(("nothing changed, per page (no skip)", *timed_pass(ids)))
        batched = [("nothing changed, batched skip", len(ids), *timed_batched_pass(ids))]
        if args.unchanged:
            with unchanged_embedder(args.unchanged_embedder) as embedder_id:
                print(f"creating and indexing {args.unchanged} more pages ({embedder_id}) ...", flush=True)
                more = make_pages(section, args.unchanged, rng, prefix="unchanged")
                ids += more
                first = timed_batched_pass(more)
                print(f"  first index: {args.unchanged / first[0]:.1f} pages/s, {first[1]} chunks embedded")
                name = f"nothing changed, {args.unchanged} more pages"
                batched.append((name, args.unchanged, *timed_batched_pass(more)))
        print_table(args, rows, batched)  # before the clean-up, which takes minutes for many pages
    finally:
        KnowledgeChunk.objects.filter(page_id__in=ids).delete()
        PageIndexState.objects.filter(page_id__in=ids).delete()
        remove_bench_pages(section.pk)


if __name__ == "__main__":
    main()
