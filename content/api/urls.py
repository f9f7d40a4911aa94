from django.urls import path

from . import views

app_name = "ai_api"

urlpatterns = [
    path("requests/", views.request_create, name="request_create"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request_detail"),
    path("ask/", views.ask, name="ask"),
]
