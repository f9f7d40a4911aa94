"""The Celery application (cookiecutter-django's layout: settings under the CELERY_ namespace)."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.dev")

app = Celery("lectern")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _warm_up_providers(**kwargs):
    from ai_core.providers import warm_up

    warm_up()
