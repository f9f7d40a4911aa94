"""The AI request API's routes. ``site_config.urls`` mounts them, with the site's ``ask/``, under
``api/ai/`` in the one ``ai_api`` namespace, so this module names no ``app_name``."""

from django.urls import path

from . import stream, views

urlpatterns = [
    path("requests/", views.request_create, name="request_create"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request_detail"),
    path("requests/<uuid:request_id>/stream/", stream.request_stream, name="request_stream"),
    path("requests/<uuid:request_id>/cancel/", views.request_cancel, name="request_cancel"),
    path("requests/<uuid:request_id>/feedback/", views.request_feedback, name="request_feedback"),
    path("csrf/", views.csrf, name="csrf"),
]
