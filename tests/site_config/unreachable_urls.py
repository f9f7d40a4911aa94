"""The site's URLs plus views that fail as a lost database connection does, for test_unavailable."""

from django.db import InterfaceError, OperationalError
from django.urls import path

from site_config.urls import handler500
from site_config.urls import urlpatterns as site_urlpatterns


def _raise(exc):
    def view(request):
        raise exc

    return view


def _raise_from_lost_connection(request):
    try:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection timed out")
    except OperationalError as err:
        raise RuntimeError("the page could not be built") from err


urlpatterns = [
    path("api/ai/test-db-lost/", _raise(OperationalError("consuming input failed: Connection timed out"))),
    path("test-db-lost/", _raise(InterfaceError("connection already closed"))),
    path("test-db-lost-wrapped/", _raise_from_lost_connection),
    path("api/ai/test-bug/", _raise(ValueError("a bug"))),
    *site_urlpatterns,
]

__all__ = ["handler500", "urlpatterns"]
