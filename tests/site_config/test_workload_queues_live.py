"""Workload queues with real worker processes on the real Redis broker (site_config/celery_routes.py).

Each task lands on the worker that consumes its workload's queue, whatever host (``--hostname``)
it runs on; a pool process killed mid-task loses nothing; and a visitor's answer does not wait
behind a long re-index, even with one worker consuming every queue (as ``make demo`` runs it).
Embeddings go through the fake OpenAI server, whose scripted latency makes index tasks slow.
"""

from __future__ import annotations

import os
import signal
import uuid

import httpx
import pytest
from django.conf import settings

from ai_core.models import AIRequest
from ai_core.rag.models import PageIndexState
from site_config.celery_app import app
from tests.conftest import live_stack, start_celery_worker, stop_celery_worker, tasks_routed_to, wait_for
from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory
from tests.faults.servers import child_pids
from tests.rag.conftest import body, ensure_wagtail_initial_data

pytestmark = pytest.mark.django_db(transaction=True)

FINISHED = {*AIRequest.TERMINAL, AIRequest.Status.AWAITING_REVIEW}


def _openai_embedder_env(fake_url: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": f"{fake_url}/v1",
        "AI_EMBEDDER": "openai",
        "OPENBLAS_NUM_THREADS": "1",
    }


def _publish_pages(count: int, *, prefix: str) -> list[int]:
    """Publish ``count`` articles without indexing them here: their publish-time index tasks go to
    a queue nobody consumes (deleted again), so the test queues the indexing where it wants it."""
    from site_config.celery_routes import worker_queues

    void = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-void-{uuid.uuid4().hex[:6]}"
    root = ensure_wagtail_initial_data()
    with tasks_routed_to(void):
        from wagtail.models import Site

        home = HomePageFactory(parent=root, slug=f"home-{prefix}")
        Site.objects.update_or_create(
            is_default_site=True, defaults={"hostname": "localhost", "root_page": home}
        )
        section = ArticleIndexPageFactory(parent=home, title="Guides", slug=f"guides-{prefix}")
        ids = []
        for n in range(count):
            page = ArticlePageFactory(
                parent=section,
                title=f"Ledger guide {n}",
                slug=f"{prefix}-{n}",
                intro="",
                body=body(
                    ("h2", f"Step {n}"), ("p", f"Ledger step {n}: reconcile the account of month {n}.")
                ),
            )
            page.save_revision().publish()
            ids.append(page.pk)
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(*worker_queues(void))
    return ids


def _succeeded(worker, task_id: str) -> bool:
    return any(task_id in line and "succeeded" in line for line in worker.log_path.read_text().splitlines())


@pytest.fixture
def two_hosts(django_db_blocker, fake_provider, tmp_path_factory):
    """Two workers on one set of queues (their own ``LECTERN_TEST_ID``), as on two hosts: one takes
    visitors' answers, the other indexing and removals. Yields (visitor worker, index worker)."""
    test_id = f"{os.environ.get('LECTERN_TEST_ID', 'main')}-hosts"
    base = f"lectern-test-{test_id}"
    env = {"LECTERN_TEST_ID": test_id, **_openai_embedder_env(fake_provider.base_url)}
    logs = tmp_path_factory.mktemp("hosts")
    with django_db_blocker.unblock():
        answers = start_celery_worker(
            queue=base, log_path=logs / "answers.log", extra_env=env, workloads=("visitor",), name="answers"
        )
        indexer = start_celery_worker(
            queue=base,
            log_path=logs / "indexer.log",
            extra_env=env,
            workloads=("indexing", "removals"),
            name="indexer",
        )
    try:
        with tasks_routed_to(base):
            yield answers, indexer
    finally:
        stop_celery_worker(answers)
        stop_celery_worker(indexer)


def test_each_task_runs_on_the_worker_that_consumes_its_workload(two_hosts):
    answers, indexer = two_hosts
    assert answers.hostname != indexer.hostname
    # An answer for a request that no longer exists, an index run and a removal for pages that do
    # not exist: each worker logs the task ids it ran in its own log file.
    answer = app.send_task("ai_core.process_request", args=[str(uuid.uuid4())])
    index = app.send_task("content.index_page", args=[987_654_321])
    removal = app.send_task("content.unindex_page", args=[987_654_322])
    for worker, task in ((answers, answer), (indexer, index), (indexer, removal)):
        wait_for(lambda w=worker, t=task: _succeeded(w, t.id), timeout=60, message=f"{task.id} never ran")
    assert not _succeeded(indexer, answer.id)
    assert not _succeeded(answers, index.id) and not _succeeded(answers, removal.id)
    assert set(
        PageIndexState.objects.filter(page_id__in=[987_654_321, 987_654_322]).values_list("status", flat=True)
    ) == {"deleted"}


def test_a_pool_process_killed_mid_index_loses_nothing(two_hosts, fake_provider):
    answers, indexer = two_hosts
    (page_id,) = _publish_pages(1, prefix="killed")
    fake_provider.script(path="/embeddings", latency=60, times=1)  # the call the kill cuts short
    task = app.send_task("content.index_page", args=[page_id])
    wait_for(
        lambda: fake_provider.requests_for(path="/v1/embeddings"),
        timeout=60,
        message=f"the index task never embedded:\n{indexer.log_path.read_text()}",
    )
    (pool_pid,) = child_pids(indexer.pid)
    os.kill(pool_pid, signal.SIGKILL)  # acks_late + reject_on_worker_lost: the message is requeued
    state = wait_for(
        lambda: PageIndexState.objects.filter(page_id=page_id, status="indexed").first(),
        timeout=90,
        message=f"the killed index task was never run again:\n{indexer.log_path.read_text()}",
    )
    assert state.chunk_count > 0
    assert len(fake_provider.requests_for(path="/v1/embeddings")) >= 2  # the killed call and the rerun
    wait_for(lambda: _succeeded(indexer, task.id), timeout=30, message="the rerun never finished")
    assert not _succeeded(answers, task.id)
    assert "WorkerLostError" in indexer.log_path.read_text()


@pytest.fixture
def one_worker_stack(django_db_setup, django_db_blocker, fake_provider, tmp_path_factory):
    """Web server and ONE worker (concurrency 1) consuming every queue, as ``make demo`` runs it."""
    with live_stack(
        "workloads",
        fake_url=fake_provider.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_FALLBACK_TO_LOCAL="false",
        AI_REVIEW_WEAK_GROUNDING="false",
        **_openai_embedder_env(fake_provider.base_url),
    ) as web:
        yield web


def test_a_visitors_answer_does_not_wait_behind_a_long_reindex(one_worker_stack, fake_provider):
    pages = 30
    page_ids = _publish_pages(pages, prefix="backlog")
    # Every embedding call takes 0.4 s: the re-index below is at least 12 s of work for the worker.
    fake_provider.script(path="/embeddings", latency=0.4, times=10_000)
    with tasks_routed_to(one_worker_stack.queue):
        for page_id in page_ids:
            app.send_task("content.index_page", args=[page_id])
    wait_for(
        lambda: PageIndexState.objects.filter(page_id__in=page_ids).exists(),
        timeout=60,
        message=f"the re-index never started:\n{one_worker_stack.worker.log_path.read_text()}",
    )
    with httpx.Client(base_url=one_worker_stack.url, timeout=30) as http:
        token = http.get("/api/ai/csrf/").json()["csrf_token"]
        response = http.post(
            "/api/ai/ask/",
            json={"question": "How do I reconcile the ledger account?"},
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 202, response.text
        poll_url = response.json()["poll_url"]
        final = wait_for(
            lambda: (b := http.get(poll_url).json())["status"] in FINISHED and b,
            timeout=60,
            message=f"the visitor was never answered:\n{one_worker_stack.worker.log_path.read_text()}",
        )
    indexed_when_answered = PageIndexState.objects.filter(page_id__in=page_ids).count()
    assert final["status"] == AIRequest.Status.DONE, final
    # On one FIFO queue the answer would have come after all 30 pages. Here the worker took the
    # visitor's queue in its turn: the answer came while most of the re-index still waited.
    assert indexed_when_answered <= pages // 3, indexed_when_answered
    wait_for(
        lambda: PageIndexState.objects.filter(page_id__in=page_ids).count() == pages,
        timeout=120,
        message="the re-index did not finish after the answer",
    )


def test_a_worker_started_without_q_consumes_the_workloads_it_is_told(django_db_blocker, tmp_path):
    """How docker-compose.yml starts its workers: LECTERN_WORKER_WORKLOADS, no -Q."""
    import subprocess
    import sys

    from django.db import connection

    from tests.conftest import REPO_ROOT, _worker_env

    test_id = f"{os.environ.get('LECTERN_TEST_ID', 'main')}-envq"
    hostname = f"envq-{os.getpid()}@localhost"
    env = {
        **_worker_env(connection.settings_dict["NAME"]),
        "LECTERN_TEST_ID": test_id,
        "LECTERN_WORKER_WORKLOADS": "maintenance,removals",
        "OPENBLAS_NUM_THREADS": "1",
    }
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "site_config", "worker", "--concurrency=1",
             "--hostname", hostname, "--without-mingle", "--without-gossip"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        replies = wait_for(
            lambda: (
                proc.poll() is None and app.control.inspect(destination=[hostname], timeout=1).active_queues()
            ),
            timeout=60,
            message=f"the worker never answered:\n{log.read_text()}",
        )
        base = f"lectern-test-{test_id}"
        assert sorted(q["name"] for q in replies[hostname]) == sorted(
            [base, f"{base}.maintenance", f"{base}.removals"]
        )
    finally:
        stop_celery_worker(proc)
