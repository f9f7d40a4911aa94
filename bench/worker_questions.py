"""Visitor questions per second on one worker process (offline: local MiniLM + extractive provider).

Seeds ``--pages`` synthetic ~500-word pages and indexes them in-process, then starts one Celery
worker node on every queue of this run with ``--concurrency`` pool processes and submits
``--questions`` distinct ``rag_answer`` questions at once (as anonymous visitors would, through
``ai_request_submit``; budgets and rate limits raised for the run, no response-cache hits since
every question differs). Times first submit → last answer stored. Each question costs the worker
one question embedding, the hybrid retrieval, the extractive answer (MiniLM again) and the review
checks: the CPU a question costs when no remote model is waited for. Run on a scratch database:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench_<you> \\
      .venv/bin/python bench/worker_questions.py [--pages 40] [--questions 60] [--concurrency 1,2]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")
os.environ.setdefault("LECTERN_TEST_ID", f"bench-questions-{os.getpid()}")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HUGE = str(10**12)
RAISED = {
    "AI_BUDGET_SITE_DAILY_TOKENS": HUGE,
    "AI_BUDGET_ANON_DAILY_TOKENS": HUGE,
    "AI_BUDGET_ANON_IP_DAILY_TOKENS": HUGE,
    "AI_BUDGET_ANON_POOL_DAILY_TOKENS": HUGE,
    "AI_ANON_RATE_LIMIT_REQUESTS": "100000",
}
os.environ.update(RAISED)

import django  # noqa: E402

django.setup()

from rag_synthetic import TOPICS, bench_section, paragraph, remove_bench_pages  # noqa: E402
from wagtail.models import Site  # noqa: E402
from wagtail.rich_text import RichText  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.models import AIRequest  # noqa: E402
from ai_core.rag.models import KnowledgeChunk, PageIndexState  # noqa: E402
from ai_core.services import ai_request_submit  # noqa: E402
from content.indexing import page_index_sync  # noqa: E402
from content.models import ArticlePage  # noqa: E402

FINISHED = {*AIRequest.TERMINAL, AIRequest.Status.AWAITING_REVIEW}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--concurrency", default="1,2", help="pool sizes to time, comma-separated")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("set DATABASE_URL to a scratch database (see the docstring)")
    from tests.conftest import start_celery_worker, stop_celery_worker

    rng = random.Random(5)
    section = bench_section()
    site = Site.objects.filter(is_default_site=True).first()
    ids = []
    for n in range(args.pages):
        body = []
        for s in range(4):
            body.append(("heading", {"text": f"Part {s + 1}: {rng.choice(TOPICS)}", "level": "h2"}))
            body += [("paragraph", RichText(f"<p>{paragraph(rng, 60)}</p>")) for _ in range(2)]
        page = ArticlePage(title=f"Questions bench {n}", slug=f"questions-bench-{n}", body=body, live=True)
        section.add_child(instance=page)
        ids.append(page.pk)
    for page_id in ids:
        page_index_sync(page_id=page_id)
    chunks = KnowledgeChunk.objects.filter(page_id__in=ids).count()
    logs = Path(tempfile.mkdtemp(prefix="lectern-bench-questions-"))
    rows = []
    try:
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            worker = start_celery_worker(
                queue=_default_queue(),
                log_path=logs / f"worker-{concurrency}.log",
                extra_env={"OPENBLAS_NUM_THREADS": "1", "DATABASE_URL": os.environ["DATABASE_URL"], **RAISED},
                name=f"q{concurrency}",
                concurrency=concurrency,
            )
            try:
                time.sleep(8)  # every pool process loads the models on start; not timed
                request_ids = []
                started = time.monotonic()
                for n in range(args.questions):
                    topic = rng.choice(TOPICS)
                    request = ai_request_submit(
                        prompt_key="rag_answer",
                        payload={
                            "question": f"What does part {n % 4 + 1} say about {topic}? ({uuid.uuid4().hex[:6]})"
                        },
                        session_key=f"bench-{n}",
                        site_id=site.pk if site else None,
                        locale="en",
                    )
                    request_ids.append(request.pk)
                while AIRequest.objects.filter(pk__in=request_ids).exclude(status__in=FINISHED).exists():
                    time.sleep(0.2)
                seconds = time.monotonic() - started
                statuses = dict.fromkeys(FINISHED, 0)
                for status in AIRequest.objects.filter(pk__in=request_ids).values_list("status", flat=True):
                    statuses[status] += 1
                rows.append((concurrency, seconds, {k: v for k, v in statuses.items() if v}))
            finally:
                stop_celery_worker(worker)
    finally:
        KnowledgeChunk.objects.filter(page_id__in=ids).delete()
        PageIndexState.objects.filter(page_id__in=ids).delete()
        remove_bench_pages(section.pk)
    print(f"\nVisitor questions, {args.questions} distinct rag_answer questions over {args.pages} pages "
          f"({chunks} chunks), embedder {providers.embedder().embedder_id}, extractive provider, "
          f"{os.cpu_count()} CPU cores, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'pool processes':>14} {'seconds':>8} {'questions/s':>12}  outcomes")
    for concurrency, seconds, statuses in rows:
        print(f"{concurrency:>14} {seconds:>8.1f} {args.questions / seconds:>12.2f}  {statuses}")


def _default_queue() -> str:
    from django.conf import settings

    return settings.CELERY_TASK_DEFAULT_QUEUE


if __name__ == "__main__":
    main()
