"""Which Celery queue each task goes to: one queue per workload (``LECTERN_TASK_WORKLOADS`` in
settings), named ``<default queue>.<workload>``.

A router function rather than a dict in ``CELERY_TASK_ROUTES`` because the names follow the
default queue *at send time*: a test run (``LECTERN_TEST_ID``), a benchmark or a second site on the
same Redis sets its own default queue and gets its own set of workload queues with it, and a test
that points the app at one worker's queues (``tests.conftest.tasks_routed_to``) moves every
workload along. ``worker_queues`` is the list a worker must consume to run everything.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class InvalidWorkerWorkloadsError(ImproperlyConfigured):
    """``LECTERN_WORKER_WORKLOADS`` names a workload that does not exist."""


def _default_queue() -> str:
    from celery import current_app

    return current_app.conf.task_default_queue


def workload_queue(workload: str, *, base: str | None = None) -> str:
    """``"lectern.visitor"`` for workload ``"visitor"`` with default queue ``"lectern"``."""
    if workload not in settings.LECTERN_WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; LECTERN_WORKLOADS has {settings.LECTERN_WORKLOADS}")
    return f"{base or _default_queue()}.{workload}"


def worker_queues(base: str | None = None, *, workloads: tuple[str, ...] | None = None) -> list[str]:
    """The queues a worker consumes: the default queue (unrouted tasks) and one per workload."""
    base = base or _default_queue()
    chosen = settings.LECTERN_WORKLOADS if workloads is None else workloads
    return [base, *(workload_queue(w, base=base) for w in chosen)]


def worker_queues_from_settings(workloads: list[str] | tuple[str, ...]) -> list[str]:
    """``LECTERN_WORKER_WORKLOADS`` as queue names; an unknown workload stops the worker at start."""
    unknown = [w for w in workloads if w not in settings.LECTERN_WORKLOADS]
    if unknown:
        raise InvalidWorkerWorkloadsError(
            f"LECTERN_WORKER_WORKLOADS names unknown workload(s) {', '.join(unknown)}; "
            f"choose from {', '.join(settings.LECTERN_WORKLOADS)}"
        )
    return worker_queues(workloads=tuple(workloads) or None)


def task_queue(task_name: str, *, base: str | None = None) -> str:
    """The queue ``task_name`` is sent to (its workload's, or the default queue)."""
    workload = settings.LECTERN_TASK_WORKLOADS.get(task_name)
    return workload_queue(workload, base=base) if workload else (base or _default_queue())


def route_by_workload(
    name: str, args: Any, kwargs: Any, options: dict, task: Any = None, **kw: Any
) -> dict | None:
    """Celery router (``CELERY_TASK_ROUTES``). An explicit ``apply_async(queue=...)`` still wins:
    Celery merges the caller's options over the route."""
    workload = settings.LECTERN_TASK_WORKLOADS.get(name)
    return {"queue": workload_queue(workload)} if workload else None
