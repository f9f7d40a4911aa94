"""The site's part of the AI request API. ``site_config.urls`` mounts it with ``ai_core.api.urls``
under ``api/ai/`` in the one ``ai_api`` namespace, so this module names no ``app_name``."""

from django.urls import path

from . import views

urlpatterns = [
    path("ask/", views.ask, name="ask"),
]
