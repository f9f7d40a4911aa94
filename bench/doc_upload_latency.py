"""Upload → searchable latency for library documents (PDFs of 3, 20 and 100 pages), through a
real Celery worker.

Starts its own worker (local MiniLM embedder) on a private queue, then for each run creates a
Wagtail document from a generated PDF (a unique phrase on its last page) and polls until
``retrieve`` returns a chunk of it; also times the replacement of one page (only that page's
chunk is re-embedded). Needs a
migrated database; documents are deleted afterwards. Run from the repository root:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
      .venv/bin/python bench/doc_upload_latency.py [--runs 5] [--pages 3 20 100]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")
os.environ.setdefault("LECTERN_TEST_ID", "docbench")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
# One BLAS thread in the worker, as ``make demo`` and compose run it: on a busy 2-core machine
# OpenBLAS's own threads only contend.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Web process and worker must read the same files.
os.environ.setdefault("DJANGO_MEDIA_ROOT", tempfile.mkdtemp(prefix="docbench-media-"))

import django  # noqa: E402

django.setup()

from django.core.files.base import ContentFile  # noqa: E402
from rag_publish_latency import pct, start_worker  # noqa: E402
from rag_synthetic import paragraph  # noqa: E402
from wagtail.documents import get_document_model  # noqa: E402
from wagtail.models import Collection  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument  # noqa: E402
from tests.rag.doc_factories import pdf_bytes  # noqa: E402


def wait_indexed(document_id: int, *, content_hash: str | None = None, timeout: float = 300) -> float:
    """Seconds until the document's row is indexed (with ``content_hash``, when given) and has chunks."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        row = KnowledgeDocument.objects.filter(source="wagtail", key=str(document_id)).first()
        if (
            row is not None
            and row.status == "indexed"
            and (content_hash is None or row.content_hash == content_hash)
            and KnowledgeChunk.objects.filter(document=row).exists()
        ):
            return time.monotonic() - started
        time.sleep(0.02)
    raise SystemExit(f"document {document_id} not searchable within {timeout}s")


def pages_for(rng: random.Random, count: int, marker: str) -> list[str]:
    pages = [f"{paragraph(rng, 90)}\n\n{paragraph(rng, 90)}" for _ in range(count)]
    pages[-1] += f"\n\nThe bench marker of this file is {marker}."
    return pages


def main() -> None:
    import hashlib

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", type=int, nargs="+", default=[3, 20, 100])
    args = parser.parse_args()
    rng = random.Random(11)
    collection = Collection.get_first_root_node() or Collection.add_root(name="Root")
    logs = Path(tempfile.mkdtemp(prefix="docbench-"))
    worker = start_worker(logs / "worker.log")
    model = get_document_model()
    created: list[int] = []
    rows = []
    try:
        warm = model.objects.create(
            title="warm-up", file=ContentFile(pdf_bytes(["Warm up."]), name="w.pdf"), collection=collection
        )
        created.append(warm.pk)
        wait_indexed(warm.pk)
        for count in args.pages:
            new_s, replace_s, chunks = [], [], 0
            for run in range(args.runs):
                marker = uuid.uuid4().hex[:10]
                pages = pages_for(rng, count, marker)
                data = pdf_bytes(pages)
                t0 = time.monotonic()
                document = model.objects.create(
                    title=f"Bench {count}p {marker}", file=ContentFile(data, name=f"bench-{marker}.pdf"), collection=collection
                )  # fmt: skip
                created.append(document.pk)
                wait_indexed(document.pk)
                new_s.append(time.monotonic() - t0)
                chunks = KnowledgeChunk.objects.filter(
                    document__key=str(document.pk), document__source="wagtail"
                ).count()
                # One page rewritten: only its chunk(s) are embedded again.
                pages[0] = paragraph(rng, 120)
                changed = pdf_bytes(pages)
                t0 = time.monotonic()
                document.file = ContentFile(changed, name=f"bench-{marker}.pdf")
                document.save()
                wait_indexed(document.pk, content_hash=hashlib.sha256(changed).hexdigest())
                replace_s.append(time.monotonic() - t0)
                print(
                    f"{count} pages run {run + 1}/{args.runs}: new {new_s[-1]:.2f}s, one page replaced {replace_s[-1]:.2f}s",
                    flush=True,
                )
            rows.append((count, chunks, new_s, replace_s))
    finally:
        for pk in created:
            document = model.objects.filter(pk=pk).first()
            if document:
                document.delete()
        time.sleep(2)
        os.killpg(worker.pid, signal.SIGQUIT)
        worker.wait(timeout=30)
    print(
        f"\nUpload → searchable, library PDFs, embedder {providers.embedder().embedder_id}, 1 worker "
        f"(concurrency 1), {args.runs} runs each; 1-min load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'pages':>5} {'chunks':>6} {'new p50 s':>10} {'new p95 s':>10} {'1 page replaced p50 s':>22}")
    for count, chunks, new_s, replace_s in rows:
        print(
            f"{count:>5} {chunks:>6} {pct(new_s, 0.5):>10.2f} {pct(new_s, 0.95):>10.2f} {pct(replace_s, 0.5):>22.2f}"
        )


if __name__ == "__main__":
    main()
