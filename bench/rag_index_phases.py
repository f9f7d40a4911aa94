"""Where one page's indexing time goes: segments + chunking, the re-index skip's fingerprint,
the embedding call, and the whole ``page_index_sync``, each in wall and process CPU time.

In-process, on a ~2,000-word synthetic page (the one ``rag_publish_latency.py`` publishes),
with the configured embedder or ``--embedder ALIAS`` (an ``AI_CORE["EMBEDDERS"]`` alias, e.g.
``local-onnx``). The page is created live without publishing (no signals) under a "rag-bench"
section and deleted afterwards. Run:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
      .venv/bin/python bench/rag_index_phases.py [--embedder local-onnx] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from rag_synthetic import bench_section, long_body, remove_bench_pages  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.rag.models import KnowledgeChunk, PageIndexState  # noqa: E402
from content.indexing import page_chunks_for, page_index_fingerprints, page_index_sync  # noqa: E402
from content.models import ArticlePage  # noqa: E402


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Mean wall and process CPU milliseconds of ``fn`` over ``repeat`` calls, and its last result."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        result = fn()
    return (time.perf_counter() - wall) / repeat * 1000, (time.process_time() - cpu) / repeat * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--embedder", default="", help="an AI_CORE['EMBEDDERS'] alias; default: the configured one"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.embedder:
        settings.AI_CORE = {**settings.AI_CORE, "DEFAULT_EMBEDDER": args.embedder}
        providers.reset_providers()
    embedder = providers.embedder()
    embedder.embed(["warm up"])  # load the model outside the timings
    body, words = long_body(random.Random(7))
    section = bench_section()
    page = ArticlePage(title="Index phases bench", slug=f"index-phases-{os.getpid()}", body=body, live=True)
    section.add_child(instance=page)
    rows = []
    try:
        page = ArticlePage.objects.get(pk=page.pk)
        wall, cpu, chunks = timed(lambda: page_chunks_for(page, embedder=embedder), args.repeat)
        tokens = sum(c.token_estimate for c in chunks)
        rows.append((f"segments + chunking ({len(chunks)} chunks, ~{tokens} est. tokens)", wall, cpu))
        fingerprint = lambda: page_index_fingerprints(page_ids=[page.pk], embedder=embedder)  # noqa: E731
        rows.append(("fingerprint (the re-index skip check)", *timed(fingerprint, args.repeat)[:2]))
        texts = [c.embed_text for c in chunks]
        rows.append(
            (
                f"embedding {len(texts)} chunks, one call",
                *timed(lambda: embedder.embed(texts), args.repeat)[:2],
            )
        )

        def index_all_new():
            KnowledgeChunk.objects.filter(page_id=page.pk).delete()
            return page_index_sync(page_id=page.pk)

        rows.append(("whole page_index_sync, every chunk new", *timed(index_all_new, args.repeat)[:2]))
    finally:
        KnowledgeChunk.objects.filter(page_id=page.pk).delete()
        PageIndexState.objects.filter(page_id=page.pk).delete()
        remove_bench_pages(section.pk)
    print(
        f"\nIndexing one {words}-word page, embedder {embedder.embedder_id}, mean of {args.repeat}; "
        f"1-min load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'step':<58} {'wall ms':>9} {'CPU ms':>9}")
    for name, wall, cpu in rows:
        print(f"{name:<58} {wall:>9.0f} {cpu:>9.0f}")


if __name__ == "__main__":
    main()
