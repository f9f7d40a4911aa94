"""``/metrics``: Prometheus exposition of the AI engine's counters (see ``ai_core/metrics.py``).

Who may scrape:

- Prometheus, with ``Authorization: Bearer <LECTERN_METRICS_TOKEN>`` (compared in constant time).
  With no token configured, no bearer token is accepted.
- A logged-in staff member allowed to view the usage log (``ai_core.view_llmusagelog``), from a
  browser: the numbers are the same costs and volumes the admin already shows them.

Anyone else gets 401 (no credentials, with ``WWW-Authenticate: Bearer``) or 403 (a wrong token,
or a user without the permission). The answer reveals spend and traffic, so it is never public.

There are no in-process HTTP metrics for the submit/poll/stream views on purpose: behind several
uvicorn workers each scrape reaches one of them at random, so per-process counters would jump
about. Request volume and the time a visitor waits come from ``AIRequest`` rows instead
(``lectern_ai_requests_total``, ``lectern_ai_request_duration_seconds``).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import choose_encoder

from ai_core.metrics import metrics_registry

PERMISSION = "ai_core.view_llmusagelog"


def _denied(request: HttpRequest) -> HttpResponse | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        expected = settings.LECTERN_METRICS_TOKEN
        if expected and hmac.compare_digest(token.strip().encode(), expected.encode()):
            return None
        return JsonResponse({"error": {"code": "forbidden", "message": "Invalid metrics token."}}, status=403)
    user = request.user
    if user.is_authenticated:
        if user.is_active and user.is_staff and user.has_perm(PERMISSION):
            return None
        return JsonResponse(
            {"error": {"code": "forbidden", "message": "Viewing metrics needs access to AI usage."}},
            status=403,
        )
    response = JsonResponse(
        {"error": {"code": "unauthorized", "message": "Send Authorization: Bearer <metrics token>."}},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    denied = _denied(request)
    if denied is not None:
        return denied
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(metrics_registry()), content_type=content_type)
