import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.defaults import server_error as default_server_error


def csrf_failure(request: HttpRequest, reason: str = ""):
    """API clients get a JSON 403 they can act on; browsers get Django's page."""
    if request.path.startswith("/api/"):
        message = "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header."
        return JsonResponse({"error": {"code": "csrf_failed", "message": message}}, status=403)
    return html_csrf_failure(request, reason)


# How long a client is asked to wait when the database cannot be reached.
UNAVAILABLE_RETRY_AFTER_S = 30


def _database_unreachable(exc: BaseException | None) -> bool:
    """The error, or one it was raised from, is the database connection failing (a restart, a
    failover, a network cut that ``DATABASE_NETWORK_TIMEOUT`` ended), not a bug in a query."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def server_error(request: HttpRequest):
    """Django's 500 handler (``handler500``). An unhandled error that is the database being out of
    reach is answered as what it is, the site briefly unavailable: 503 with Retry-After, JSON under
    /api/, a short page elsewhere. Anything else is the usual 500 page. Django logs
    the error with its traceback either way (after this returns)."""
    if not _database_unreachable(sys.exc_info()[1]):
        return default_server_error(request)
    if request.path.startswith("/api/"):
        message = "The service is briefly unavailable; try again shortly."
        response = JsonResponse({"error": {"code": "unavailable", "message": message}}, status=503)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
    return response
