from django.http import HttpRequest, JsonResponse
from django.views.csrf import csrf_failure as html_csrf_failure


def csrf_failure(request: HttpRequest, reason: str = ""):
    """API clients get a JSON 403 they can act on; browsers get Django's page."""
    if request.path.startswith("/api/"):
        message = "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header."
        return JsonResponse({"error": {"code": "csrf_failed", "message": message}}, status=403)
    return html_csrf_failure(request, reason)
