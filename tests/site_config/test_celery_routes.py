"""Each task goes to its workload's queue (site_config/celery_routes.py), and the queue a worker
consumes by default are exactly those the router sends to."""

from __future__ import annotations

import pytest
from django.conf import settings

from site_config.celery_app import app
from site_config.celery_routes import (
    InvalidWorkerWorkloadsError,
    task_queue,
    worker_queues,
    worker_queues_from_settings,
)
from tests.conftest import tasks_in, tasks_routed_to


def _registered_task_names() -> set[str]:
    app.loader.import_default_modules()  # what a worker imports at start (autodiscovery)
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_every_task_of_the_project_has_a_workload_and_every_route_names_a_task():
    unrouted = _registered_task_names() - set(settings.LECTERN_TASK_WORKLOADS)
    # Only the heartbeat stays on the default queue, which every worker consumes.
    assert unrouted == {"ai_core.heartbeat"}
    assert set(settings.LECTERN_TASK_WORKLOADS) <= _registered_task_names()  # no route for a typo
    assert set(settings.LECTERN_TASK_WORKLOADS.values()) <= set(settings.LECTERN_WORKLOADS)


def test_the_declared_queues_are_the_ones_the_router_sends_to():
    assert [q.name for q in settings.CELERY_TASK_QUEUES] == worker_queues()
    # Each queue bound under its own key: a message for one workload lands in that queue only.
    for queue in app.amqp.queues.values():
        assert (queue.exchange.name, queue.routing_key) == (queue.name, queue.name)
    base = settings.CELERY_TASK_DEFAULT_QUEUE
    assert base.startswith("lectern-test")  # a test run never shares a queue with a dev worker
    assert task_queue("ai_core.process_request") == f"{base}.visitor"
    assert task_queue("content.unindex_page") == f"{base}.removals"
    assert task_queue("content.index_pages") == f"{base}.indexing"
    assert task_queue("ai_core.process_system_request") == f"{base}.batch"
    assert task_queue("maintenance.publish_scheduled") == f"{base}.maintenance"


def test_routes_follow_the_default_queue_and_an_explicit_queue_wins():
    router = app.amqp.router
    with tasks_routed_to("elsewhere"):
        assert router.route({}, "ai_core.process_request")["queue"].name == "elsewhere.visitor"
        assert router.route({}, "ai_core.heartbeat")["queue"].name == "elsewhere"
        assert router.route({"queue": "mine"}, "ai_core.process_request")["queue"].name == "mine"


def test_a_worker_told_workloads_consumes_those_and_the_default_queue_only():
    base = settings.CELERY_TASK_DEFAULT_QUEUE
    assert worker_queues_from_settings(["maintenance", "removals"]) == [
        base,
        f"{base}.maintenance",
        f"{base}.removals",
    ]
    assert worker_queues_from_settings([]) == worker_queues()
    with pytest.raises(InvalidWorkerWorkloadsError, match="LECTERN_WORKER_WORKLOADS.*answers"):
        worker_queues_from_settings(["answers"])


@pytest.mark.django_db(transaction=True)
def test_a_page_leaving_visitors_reach_is_queued_for_removal_not_behind_indexing(unconsumed_queues):
    from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory
    from tests.rag.conftest import ensure_wagtail_initial_data

    base, client = unconsumed_queues
    root = ensure_wagtail_initial_data()
    home = HomePageFactory(parent=root, slug=f"home-{base[-6:]}")
    section = ArticleIndexPageFactory(parent=home, slug="guides")
    page = ArticlePageFactory(parent=section, slug="refunds", intro="Refunds take five days.")
    page.save_revision().publish()
    page.unpublish()
    assert tasks_in(client, f"{base}.indexing") == [("content.index_page", f"({page.pk},)")]  # the publish
    assert tasks_in(client, f"{base}.removals") == [("content.unindex_page", f"({page.pk},)")]
    assert client.llen(f"{base}.visitor") == 0
