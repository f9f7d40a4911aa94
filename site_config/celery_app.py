"""The Celery application (cookiecutter-django's layout: settings under the CELERY_ namespace)."""

import logging
import os

from celery import Celery
from celery.signals import celeryd_init, setup_logging, worker_process_init

from ai_core.logcontext import connect_celery_signals

logger = logging.getLogger(__name__)
# What each pool process logs once warm, before it takes a task (tests and benchmarks wait for it).
WARMED_UP = " warmed up: "
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.dev")

app = Celery("lectern")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# site_config is the project package, not an installed app: its beat maintenance tasks are listed here.
app.autodiscover_tasks(["site_config"])
# Log lines of a task carry the ai_request_id of the web request that queued it.
connect_celery_signals()


@setup_logging.connect
def _use_django_logging(**kwargs):
    """Workers log through Django's LOGGING (JSON or plain, with the request context), not
    Celery's own handlers, so web and worker lines look alike and carry the same fields."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@celeryd_init.connect
def _consume_workload_queues(sender, instance, **kwargs):
    """A worker consumes the queues of ``LECTERN_WORKER_WORKLOADS`` (all of them when empty), so
    a deployment says "visitor" and never spells queue names. Sent before the worker applies
    ``-Q``: an explicit ``-Q`` replaces this selection and wins."""
    from django.conf import settings

    from site_config.celery_routes import worker_queues_from_settings

    instance.app.amqp.queues.select(worker_queues_from_settings(settings.LECTERN_WORKER_WORKLOADS))


@worker_process_init.connect
def _warm_up_providers(**kwargs):
    """Before a pool process takes its first task (the pool waits for this to return). A worker that
    consumes only workloads that seldom embed (``LECTERN_WORKLOADS_WITHOUT_EMBEDDING``) leaves the
    embedder's weights unloaded."""
    from django.conf import settings

    from ai_core.providers import warm_up

    workloads = set(settings.LECTERN_WORKER_WORKLOADS or settings.LECTERN_WORKLOADS)
    warmed = warm_up(embedder_weights=not workloads <= set(settings.LECTERN_WORKLOADS_WITHOUT_EMBEDDING))
    logger.info(f"pool process %d{WARMED_UP}%s", os.getpid(), ", ".join(warmed))
