"""Publish → searchable latency for a 2,000-word page, through a real Celery worker.

Starts its own worker process (local MiniLM embedder) on a private queue, then for each run
publishes a new 2,000-word ArticlePage and polls until ``retrieve`` returns it. Also times the
publish call itself, to show indexing does not slow the editor down, and a re-publish with one
paragraph changed. Needs a migrated database; pages are created under a "rag-bench" section and
deleted afterwards. Run from the repository root:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
      .venv/bin/python bench/rag_publish_latency.py [--runs 10] [--split-workers]

With one worker for every queue, a page's index task waits behind the summary the previous
publish asked for (a generation, seconds on the local provider); ``--split-workers`` runs the
indexing and removals queues on a worker of their own, as a deployment does with
``LECTERN_WORKER_WORKLOADS``. ``AI_EMBEDDER=local-onnx`` measures the int8 ONNX embedder.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")
os.environ.setdefault("LECTERN_TEST_ID", "ragbench")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from rag_synthetic import bench_section, long_body, paragraph, remove_bench_pages  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.rag.models import KnowledgeChunk  # noqa: E402
from content.models import ArticlePage  # noqa: E402


def start_worker(
    log_path: Path, *, workloads: tuple[str, ...] | None = None, name: str = "", blas_threads: int = 1
) -> subprocess.Popen:
    from site_config.celery_routes import worker_queues

    # Every workload's queue, or only those of ``workloads`` (a worker per workload, as deployed).
    queue = ",".join(worker_queues(settings.CELERY_TASK_DEFAULT_QUEUE, workloads=workloads))
    env = {
        **os.environ,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
        "OPENBLAS_NUM_THREADS": str(blas_threads),
    }
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "site_config", "worker", "--loglevel=WARNING",
             "--concurrency=1", "--pool=prefork", "-Q", queue, "--hostname", f"ragbench{name}-{os.getpid()}@localhost",
             "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    from site_config.celery_app import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(destination=[f"ragbench{name}-{os.getpid()}@localhost"], timeout=0.5):
            return proc
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit(f"worker did not start:\n{log_path.read_text()}")


def wait_searchable(page_id: int, revision_id: int, timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if KnowledgeChunk.objects.filter(page_id=page_id, page_revision_id=revision_id).exists():
            return time.monotonic() - started
        time.sleep(0.02)
    raise SystemExit(f"page {page_id} revision {revision_id} not searchable within {timeout}s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1, help="Untimed runs first (worker loads the model).")
    parser.add_argument(
        "--split-workers",
        action="store_true",
        help="One worker for indexing and removals, another for everything else (summaries), as "
        "deployed with LECTERN_WORKER_WORKLOADS; default: one worker for every queue.",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="OPENBLAS_NUM_THREADS of each worker; 1 is how scripts/demo.sh and docker-compose.yml "
        "start them (two processes with two BLAS threads each on two cores only contend).",
    )
    args = parser.parse_args()
    rng = random.Random(7)
    section = bench_section()
    logs = Path(tempfile.mkdtemp(prefix="ragbench-"))
    if args.split_workers:
        others = tuple(w for w in settings.LECTERN_WORKLOADS if w not in ("indexing", "removals"))
        workers = [
            start_worker(
                logs / "worker-indexing.log",
                workloads=("indexing", "removals"),
                name="-indexing",
                blas_threads=args.blas_threads,
            ),
            start_worker(
                logs / "worker-others.log", workloads=others, name="-others", blas_threads=args.blas_threads
            ),
        ]
    else:
        workers = [start_worker(logs / "worker.log", blas_threads=args.blas_threads)]
    publish_s, new_page_s, edit_s, words = [], [], [], 0
    try:
        for run in range(-args.warmup, args.runs):
            marker = uuid.uuid4().hex[:10]
            body, words = long_body(rng)
            page = ArticlePage(title=f"Bench page {marker}", slug=f"bench-{marker}", body=body)
            section.add_child(instance=page)
            revision = page.save_revision()
            t0 = time.monotonic()
            revision.publish()
            publish_s.append(time.monotonic() - t0)
            wait_searchable(page.pk, revision.pk)
            new_page_s.append(time.monotonic() - t0)
            # One paragraph changed: only its chunk is re-embedded.
            page = ArticlePage.objects.get(pk=page.pk)
            raw = list(page.body.raw_data)
            raw[2] = {**raw[2], "value": f"<p>{paragraph(rng, 60)} Edited in run {run}.</p>"}
            page.body = raw
            revision = page.save_revision()
            t0 = time.monotonic()
            revision.publish()
            wait_searchable(page.pk, revision.pk)
            edit_s.append(time.monotonic() - t0)
            if run < 0:  # warm-up: not counted
                for values in (publish_s, new_page_s, edit_s):
                    values.pop()
                continue
            print(
                f"run {run + 1}/{args.runs}: new {new_page_s[-1]:.2f}s, one-paragraph edit {edit_s[-1]:.2f}s",
                flush=True,
            )
    finally:
        remove_bench_pages(section.pk)  # while the worker runs, so it also clears their chunks
        time.sleep(2)
        for worker in workers:
            os.killpg(worker.pid, signal.SIGQUIT)  # cold: a summary still generating is not waited for
        for worker in workers:
            worker.wait(timeout=30)
    layout = "2 workers (indexing; the rest)" if args.split_workers else "1 worker"
    print(
        f"\nPublish → searchable, {words}-word page, embedder {providers.embedder().embedder_id}, "
        f"{layout}, concurrency 1, OPENBLAS_NUM_THREADS {args.blas_threads}, {args.runs} runs; 1-min load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'measure':<38} {'p50 s':>7} {'p95 s':>7}")
    for name, values in (
        ("publish() call (editor waits)", publish_s),
        ("new page: publish → searchable", new_page_s),
        ("1 paragraph changed: → searchable", edit_s),
    ):
        print(f"{name:<38} {pct(values, 0.5):>7.2f} {pct(values, 0.95):>7.2f}")


if __name__ == "__main__":
    main()
