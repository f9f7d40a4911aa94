"""Re-index throughput (pages/s): every chunk changed, one paragraph changed, nothing changed.

In-process ``page_index_sync`` (what ``manage.py reindex`` runs) with the configured embedder
(local MiniLM by default) over synthetic ~500-word pages. Pages are created live without
publishing (no signals fire) under a "rag-bench" section and deleted afterwards. Run:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
      .venv/bin/python bench/rag_reindex_throughput.py [--pages 30]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")

import django  # noqa: E402

django.setup()

from rag_synthetic import TOPICS, bench_section, paragraph, remove_bench_pages  # noqa: E402
from wagtail.rich_text import RichText  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.rag.models import KnowledgeChunk  # noqa: E402
from content.indexing import page_index_sync  # noqa: E402
from content.models import ArticlePage  # noqa: E402


def make_pages(section, count: int, rng: random.Random) -> list[int]:
    ids = []
    for n in range(count):
        body = []
        for s in range(4):
            body.append(("heading", {"text": f"Part {s + 1}: {rng.choice(TOPICS)}", "level": "h2"}))
            body += [("paragraph", RichText(f"<p>{paragraph(rng, 60)}</p>")) for _ in range(2)]
        page = ArticlePage(title=f"Reindex bench {n}", slug=f"reindex-bench-{n}", body=body, live=True)
        section.add_child(instance=page)
        ids.append(page.pk)
    return ids


def timed_pass(ids: list[int]) -> tuple[float, int, int]:
    embedded = reused = 0
    started = time.monotonic()
    for page_id in ids:
        outcome = page_index_sync(page_id=page_id)
        embedded += outcome.embedded
        reused += outcome.reused
    return time.monotonic() - started, embedded, reused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=30)
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
        rows.append(("nothing changed", *timed_pass(ids)))
    finally:
        KnowledgeChunk.objects.filter(page_id__in=ids).delete()
        remove_bench_pages(section.pk)
    chunks = rows[0][2]
    print(f"\nRe-index throughput, {args.pages} pages (~500 words, {chunks / args.pages:.1f} chunks each), "
          f"embedder {providers.embedder().embedder_id}")  # fmt: skip
    print(f"{'pass':<34} {'pages/s':>8} {'chunks embedded':>16} {'reused':>7}")
    for name, seconds, embedded, reused in rows:
        print(f"{name:<34} {args.pages / seconds:>8.1f} {embedded:>16} {reused:>7}")


if __name__ == "__main__":
    main()
