from django.urls import path

from . import stream, views

app_name = "ai_api"

urlpatterns = [
    path("requests/", views.request_create, name="request_create"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request_detail"),
    path("requests/<uuid:request_id>/stream/", stream.request_stream, name="request_stream"),
    path("requests/<uuid:request_id>/cancel/", views.request_cancel, name="request_cancel"),
    path("requests/<uuid:request_id>/feedback/", views.request_feedback, name="request_feedback"),
    path("ask/", views.ask, name="ask"),
    path("csrf/", views.csrf, name="csrf"),
]
