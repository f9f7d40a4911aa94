"""The Celery application (cookiecutter-django's layout: settings under the CELERY_ namespace)."""

import os

from celery import Celery
from celery.signals import setup_logging, worker_process_init

from ai_core.logcontext import connect_celery_signals

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


@worker_process_init.connect
def _warm_up_providers(**kwargs):
    from ai_core.providers import warm_up

    warm_up()
