"""The AI request HTTP API: validate, store, enqueue, answer 202. No model is ever called here.

POST /api/ai/requests/                   {"prompt_key": ..., "payload": {...}}  -> 202
GET  /api/ai/requests/<id>/              owner only (another user's id -> 404)
POST /api/ai/requests/<id>/cancel/       owner only: Stop
POST /api/ai/requests/<id>/feedback/     {"vote": "up"|"down", "comment": ...}
GET  /api/ai/csrf/                       the CSRF token POSTs echo in X-CSRFToken

The stream is ``ai_core.api.stream``; the site's page-aware ``POST /api/ai/ask/`` is the content
app's (``content.api.views``), built on the same helpers (``ai_core.api.http``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.middleware.csrf import get_token
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ai_core.models import AIRequest
from ai_core.selectors.visibility import ai_request_is_public_summary, ai_request_visible_output
from ai_core.services.feedback import FeedbackRejected, feedback_record
from ai_core.services.processing import ai_request_cancel

from .http import (
    BadBody,
    error_response,
    get_owned_request,
    json_body,
    request_owner,
    request_submit_response,
)


@never_cache
@require_POST
def request_create(request: HttpRequest) -> JsonResponse:
    try:
        data = json_body(request)
    except BadBody as bad:
        return bad.response
    if "payload" not in data:
        return error_response("'payload' is required.", status=400, code="invalid", fields=["payload"])
    return request_submit_response(
        request, prompt_key=data.get("prompt_key"), payload=data["payload"], page_id=data.get("page_id")
    )


@never_cache
@require_GET
def csrf(request: HttpRequest) -> JsonResponse:
    """Hands API clients the CSRF token (and cookie) that POSTs must echo in ``X-CSRFToken``."""
    return JsonResponse({"csrf_token": get_token(request), "header": "X-CSRFToken"})


def serialize_request(ai_request: AIRequest) -> dict[str, Any]:
    # What may be shown is decided in one place (ai_core.selectors), for this API, the stream and pages.
    output = ai_request_visible_output(request=ai_request)
    return {
        "id": str(ai_request.id),
        "status": ai_request.status,
        "result": output.text,
        "error": output.message or None,
        "citations": output.citations,
        "prompt_key": ai_request.prompt_key,
        "prompt_version": ai_request.prompt_version,
        "model": ai_request.model_used or None,
        "created_at": ai_request.created_at.isoformat(),
        "finished_at": ai_request.finished_at.isoformat() if ai_request.finished_at else None,
        # Set when a reviewer-approved answer answered the question at once.
        "reviewed_at": output.reviewed_at.isoformat() if output.reviewed_at else None,
        "reviewed_label": output.reviewed_label or None,
    }


@never_cache
@require_GET
def request_detail(request: HttpRequest, request_id: uuid.UUID) -> JsonResponse:
    try:
        ai_request = get_owned_request(request, request_id)
    except Http404:
        return error_response("No such request.", status=404, code="not_found")
    return JsonResponse(serialize_request(ai_request))


@never_cache
@require_POST
def request_cancel(request: HttpRequest, request_id: uuid.UUID) -> JsonResponse:
    """Stop button: the partial answer is kept and marked cancelled; only generated tokens are charged."""
    try:
        ai_request = get_owned_request(request, request_id)
    except Http404:
        return error_response("No such request.", status=404, code="not_found")
    ai_request = ai_request_cancel(request=ai_request)
    return JsonResponse(serialize_request(ai_request), status=202)


def _feedback_target(request: HttpRequest, request_id: uuid.UUID) -> AIRequest:
    """Your own answers, or a page summary every visitor can see; anything else is 404."""
    try:
        return get_owned_request(request, request_id)
    except Http404:
        summary = AIRequest.objects.filter(pk=request_id).first()
        if summary is None or not ai_request_is_public_summary(request=summary):
            raise
        return summary


@never_cache
@require_POST
def request_feedback(request: HttpRequest, request_id: uuid.UUID) -> JsonResponse:
    try:
        data = json_body(request)
        ai_request = _feedback_target(request, request_id)
    except BadBody as bad:
        return bad.response
    except Http404:
        return error_response("No such request.", status=404, code="not_found")
    owner = request_owner(request)
    try:
        feedback = feedback_record(
            request=ai_request,
            vote=data.get("vote"),
            comment=data.get("comment") or "",
            user=owner["user"],
            session_key=owner.get("session_key", ""),
        )
    except FeedbackRejected as err:
        return error_response(str(err), status=400, code="invalid", fields=["vote"])
    return JsonResponse({"id": str(ai_request.pk), "vote": feedback.vote, "comment": feedback.comment})
