"""Fan-out re-index throughput (pages/s): ``reindex --all`` on real Celery workers vs in-process.

Creates ``--pages`` synthetic ~500-word pages (live, unpublished-signal free) under a "rag-bench"
section, then times ``manage.py reindex --all`` as an operator runs it: ``--in-process``, then fanned
out to one worker node with 1 pool process, then with 2. Before every pass the pages' chunks and
index rows are deleted, so each pass embeds every chunk (the work a new embedder would cost). The
workers use the configured embedder (local MiniLM by default) with one BLAS thread per process.
Run on a scratch database (queues and cache keys are this run's own, ``LECTERN_TEST_ID``):

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench_<you> \\
      .venv/bin/python bench/rag_fanout_reindex.py [--pages 120] [--batch-size 10] [--processes 1,2]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")
os.environ.setdefault("LECTERN_TEST_ID", f"bench-fanout-{os.getpid()}")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rag_synthetic import TOPICS, bench_section, paragraph, remove_bench_pages  # noqa: E402
from wagtail.rich_text import RichText  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.rag.models import KnowledgeChunk, PageIndexState  # noqa: E402
from content.models import ArticlePage  # noqa: E402


def make_pages(section, count: int, rng: random.Random) -> list[int]:
    ids = []
    for n in range(count):
        body = []
        for s in range(4):
            body.append(("heading", {"text": f"Part {s + 1}: {rng.choice(TOPICS)}", "level": "h2"}))
            body += [("paragraph", RichText(f"<p>{paragraph(rng, 60)}</p>")) for _ in range(2)]
        page = ArticlePage(title=f"Fan-out bench {n}", slug=f"fanout-bench-{n}", body=body, live=True)
        section.add_child(instance=page)
        ids.append(page.pk)
    return ids


def start_worker(processes: int, log: Path):
    """One worker node with ``processes`` pool processes on every queue of this run, as ``make demo``."""
    from tests.conftest import start_celery_worker

    return start_celery_worker(
        queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE") or _default_queue(),
        log_path=log,
        extra_env={"OPENBLAS_NUM_THREADS": "1", "DATABASE_URL": os.environ["DATABASE_URL"]},
        name=f"bench{processes}",
        concurrency=processes,
    )


def _default_queue() -> str:
    from django.conf import settings

    return settings.CELERY_TASK_DEFAULT_QUEUE


def timed_reindex(ids: list[int], *args: str) -> tuple[float, str]:
    KnowledgeChunk.objects.filter(page_id__in=ids).delete()
    PageIndexState.objects.filter(page_id__in=ids).delete()
    out = StringIO()
    started = time.monotonic()
    call_command("reindex", "--all", "--restart", *args, stdout=out, stderr=StringIO())
    seconds = time.monotonic() - started
    return seconds, out.getvalue().strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--processes", default="1,2", help="worker pool sizes to time, comma-separated")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("set DATABASE_URL to a scratch database (see the docstring)")
    print(
        f"database {connection.settings_dict['NAME']}, embedder {providers.embedder().embedder_id}",
        flush=True,
    )
    providers.embedder().embed(["warm up"])  # load the model outside the in-process timing
    rng = random.Random(7)
    section = bench_section()
    ids = make_pages(section, args.pages, rng)
    logs = Path(tempfile.mkdtemp(prefix="lectern-bench-fanout-"))
    rows = []
    try:
        print("in-process ...", flush=True)
        rows.append(("--in-process (this process)", *timed_reindex(ids, "--in-process")))
        for processes in (int(p) for p in args.processes.split(",")):
            from tests.conftest import stop_celery_worker

            worker = start_worker(processes, logs / f"worker-{processes}.log")
            try:
                # Every pool process loads the model on start (worker_process_init); not timed.
                time.sleep(8)
                print(f"fan-out, {processes} worker process(es) ...", flush=True)
                label = f"fan-out, 1 node x {processes} process(es)"
                rows.append((label, *timed_reindex(ids, "--batch-size", str(args.batch_size))))
            finally:
                stop_celery_worker(worker)
    finally:
        KnowledgeChunk.objects.filter(page_id__in=ids).delete()
        PageIndexState.objects.filter(page_id__in=ids).delete()
        remove_bench_pages(section.pk)
    print(f"\nFan-out re-index, {args.pages} pages (~500 words), batches of {args.batch_size}, "
          f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(f"{'run':<36} {'seconds':>8} {'pages/s':>8}  summary")
    for name, seconds, summary in rows:
        print(f"{name:<36} {seconds:>8.1f} {args.pages / seconds:>8.1f}  {summary}")
    print(f"(worker logs in {logs})")


if __name__ == "__main__":
    main()
