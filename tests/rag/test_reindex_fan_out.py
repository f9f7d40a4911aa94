"""``reindex --all`` fanned out to the workers in batches (content/reindexing.py): the summary adds
up the batches, an interrupted run is resumed, and with no worker to do the work the command says
so instead of waiting. The last test runs the batches on two real worker processes."""

from __future__ import annotations

from io import StringIO

import pytest
import redis
from django.core.management import CommandError, call_command

from ai_core import providers
from ai_core.rag.models import PageIndexState
from content.indexing import page_index_sync
from content.reindexing import reindex_run_plan
from site_config.celery_routes import worker_queues
from tests.conftest import start_celery_worker, stop_celery_worker, tasks_routed_to

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("reindex", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def pages(fake_embedder, section, publish):
    return [
        publish(
            section, title=f"Guide {n}", slug=f"guide-{n}", intro="", items=[("p", f"Step {n} of the guide.")]
        )
        for n in range(7)
    ]


def test_the_batches_add_up_to_the_same_summary_as_in_process(pages):
    PageIndexState.objects.all().delete()  # as if never indexed: every page gets its row again
    output = run("--all", "--batch-size", "3")
    assert "3 batch(es) of up to 3 page(s) queued on" in output
    assert "Re-indexed 7 page(s)" in output and "0 embedded, 7 reused, 0 removed" in output
    assert "7/7 pages" in output
    assert PageIndexState.objects.filter(status="indexed").count() == 7
    assert "Re-indexed 7 page(s)" in run("--all", "--in-process", "--force")


def test_unchanged_pages_are_left_alone_and_force_chunks_them_again(pages):
    before = dict(PageIndexState.objects.values_list("page_id", "indexed_at"))
    output = run("--all", "--batch-size", "3")
    assert "Re-indexed 0 page(s)" in output and "7 unchanged page(s) left as they were" in output
    assert "7/7 pages" in output  # the bar counts them, though they write no row
    assert dict(PageIndexState.objects.values_list("page_id", "indexed_at")) == before
    assert "7 unchanged page(s)" in run("--all", "--in-process")
    output = run("--all", "--force")
    assert "Re-indexed 7 page(s)" in output and "0 embedded, 7 reused, 0 removed" in output


def test_an_interrupted_run_is_resumed_and_skips_the_pages_it_finished(pages, publish, section):
    embedder_id = providers.embedder().embedder_id
    ids = [p.pk for p in pages]
    # The interrupted run: it began, finished three pages, then its host went away.
    reindex_run_plan(selection="all", page_ids=ids, embedder_id=embedder_id, batch_size=3)
    for page in pages[:3]:
        page_index_sync(page_id=page.pk)
    # An editor published a new revision of one of them since: that one is not "done" any more.
    publish(section, title="Guide 0", slug="guide-0", items=[("p", "Step 0, rewritten.")], page=pages[0])
    PageIndexState.objects.filter(page_id=pages[0].pk).update(indexed_at=None)
    before = dict(PageIndexState.objects.filter(page_id__in=ids[1:3]).values_list("page_id", "indexed_at"))

    output = run("--all", "--batch-size", "2")
    assert "2 page(s) already done there are skipped" in output
    # The other five are checked again: the republish indexed its page already, and the four the
    # interrupted run had not reached are as their last run left them.
    assert "2 page(s) skipped" in output and "5 unchanged page(s)" in output
    assert (
        dict(PageIndexState.objects.filter(page_id__in=ids[1:3]).values_list("page_id", "indexed_at"))
        == before
    )
    # The run completed: the next one starts from scratch (and finds every page unchanged).
    output = run("--all")
    assert "Resuming" not in output and "7 unchanged page(s)" in output


def test_restart_ignores_the_interrupted_run(pages):
    ids = [p.pk for p in pages]
    reindex_run_plan(
        selection="all", page_ids=ids, embedder_id=providers.embedder().embedder_id, batch_size=3
    )
    page_index_sync(page_id=ids[0])
    output = run("--all", "--restart", "--force")
    assert "Resuming" not in output and "Re-indexed 7 page(s)" in output


def test_with_no_worker_on_the_indexing_queue_the_command_says_so(pages, settings):
    # Route first, then change the setting: tasks_routed_to restores the eager flag it found, and
    # found after the change it would leave every later test queueing instead of running inline.
    with tasks_routed_to(f"{settings.CELERY_TASK_DEFAULT_QUEUE}-nobody-indexes"):
        settings.CELERY_TASK_ALWAYS_EAGER = False
        with pytest.raises(
            CommandError, match=r"no running worker consumes the indexing queue .*--in-process"
        ):
            run("--all")


def test_a_bad_batch_size_is_a_command_error(pages):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        run("--all", "--batch-size", "0")


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_the_batches_and_the_bar_follows_the_rows(
    fake_embedder, section, publish, settings, django_db_blocker, tmp_path_factory
):
    """Real worker processes (the local embedder), as two hosts; the command runs here."""
    settings.AI_CORE = {**settings.AI_CORE, "DEFAULT_EMBEDDER": "local"}
    providers.reset_providers()
    base = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-fanout"
    with tasks_routed_to(f"{base}-void"):  # publish without indexing: the command does that
        for n in range(12):
            publish(
                section, title=f"Guide {n}", slug=f"guide-{n}", items=[("p", f"Step {n}: file the form.")]
            )
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(*worker_queues(f"{base}-void"))
    logs = tmp_path_factory.mktemp("fanout")
    env = {"OPENBLAS_NUM_THREADS": "1", "AI_EMBEDDER": "local"}
    with django_db_blocker.unblock():
        workers = [
            start_celery_worker(queue=base, log_path=logs / f"{name}.log", extra_env=env, name=name)
            for name in ("host-a", "host-b")
        ]
    try:
        with tasks_routed_to(base):  # before the setting, as above
            settings.CELERY_TASK_ALWAYS_EAGER = False
            output = run("--all", "--batch-size", "2")
    finally:
        for worker in workers:
            stop_celery_worker(worker)
    assert "6 batch(es)" in output and "Re-indexed 12 page(s)" in output, output
    assert PageIndexState.objects.filter(status="indexed").count() == 12
    ran = [
        sum(
            "Task content.index_pages[" in line and "succeeded" in line
            for line in w.log_path.read_text().splitlines()
        )
        for w in workers
    ]
    assert sum(ran) == 6 and all(ran), f"batches run per worker: {ran}"
