"""The AI request HTTP API: validate, store, enqueue, answer 202. No model is ever called here.

POST /api/ai/requests/         {"prompt_key": ..., "payload": {...}}  -> 202
GET  /api/ai/requests/<id>/    owner only (another user's id -> 404)
POST /api/ai/ask/              {"question": ..., "page_id": optional}  -> 202 (anonymous allowed)
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ai_core import conf
from ai_core.clients import client_key
from ai_core.models import AIRequest
from ai_core.selectors import ai_request_visible_output
from ai_core.services.feedback import FeedbackRejected, feedback_record
from ai_core.services.processing import ai_request_cancel
from ai_core.services.requests import RequestRejected, ai_request_submit

from ..visibility import PageNotAskable, ask_scope_resolve


def error_response(
    message: str, *, status: int, code: str, fields: list[str] | None = None, retry_after: int | None = None
) -> JsonResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = JsonResponse(body, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


class BadBody(Exception):
    def __init__(self, response: JsonResponse):
        self.response = response


def _json_body(request: HttpRequest) -> dict[str, Any]:
    limit = conf.setting("MAX_PAYLOAD_BYTES")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BadBody(
            error_response(f"Request body is larger than {limit} bytes.", status=413, code="too_large")
        )
    raw = request.body
    if len(raw) > limit:
        raise BadBody(
            error_response(f"Request body is larger than {limit} bytes.", status=413, code="too_large")
        )
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise BadBody(
            error_response("Request body is not valid UTF-8.", status=400, code="invalid_encoding")
        ) from None
    except json.JSONDecodeError as err:
        raise BadBody(
            error_response(f"Malformed JSON: {err.msg}.", status=400, code="malformed_json")
        ) from None
    except (ValueError, RecursionError) as err:
        # NaN/Infinity, integers past Python's digit limit, nesting deeper than the parser's stack:
        # well-formed enough for json.loads to start, never a body any client of this API sends.
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err).split(":")[0]
        raise BadBody(
            error_response(f"Malformed JSON: {reason}.", status=400, code="malformed_json")
        ) from None
    if not isinstance(data, dict):
        raise BadBody(error_response("The JSON body must be an object.", status=400, code="invalid"))
    if not _storable_text(data):
        # PostgreSQL refuses NUL characters and unpaired surrogates (\u0000, \ud800) in text and
        # JSONB: refuse them here with a 400 rather than fail with a 500 when the row is written.
        raise BadBody(
            error_response(
                "Request body contains a NUL character or an unpaired surrogate escape.",
                status=400,
                code="invalid_encoding",
            )
        )
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _storable_text(data: Any) -> bool:
    """True unless a string anywhere in ``data`` (keys included) holds text PostgreSQL cannot store."""
    pending = [data]
    while pending:  # iterative: the nesting depth is only bounded by the body size
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                return False
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _owner_fields(request: HttpRequest) -> dict[str, Any]:
    if request.user.is_authenticated:
        return {"user": request.user}
    if not request.session.session_key:
        request.session.save()
    return {
        "user": None,
        "session_key": request.session.session_key,
        "client_ip": client_key(request) or None,
    }


def _accepted(ai_request: AIRequest) -> JsonResponse:
    poll_url = reverse("ai_api:request_detail", args=[ai_request.id])
    return JsonResponse(
        {
            "id": str(ai_request.id),
            "status": ai_request.status,
            "poll_url": poll_url,
            "stream_url": f"{poll_url}stream/",
        },
        status=202,
    )


def _submit(request: HttpRequest, *, prompt_key: Any, payload: Any, page_id: Any = None) -> JsonResponse:
    try:
        # The site serving this host and the locale: retrieval is scoped to them. A page of
        # another site (or a private one) is answered as if it did not exist.
        scope = ask_scope_resolve(request=request, page_id=page_id)
    except PageNotAskable:
        return error_response(
            "No such page on this site.", status=404, code="unknown_page", fields=["page_id"]
        )
    try:
        ai_request = ai_request_submit(
            prompt_key=prompt_key,
            payload=payload,
            page_id=page_id,
            site_id=scope.site_id,
            locale=scope.locale,
            **_owner_fields(request),
        )
    except RequestRejected as err:
        return error_response(
            err.message, status=err.status, code=err.code, fields=err.fields, retry_after=err.retry_after
        )
    return _accepted(ai_request)


@never_cache
@require_POST
def request_create(request: HttpRequest) -> JsonResponse:
    try:
        data = _json_body(request)
    except BadBody as bad:
        return bad.response
    if "payload" not in data:
        return error_response("'payload' is required.", status=400, code="invalid", fields=["payload"])
    return _submit(
        request, prompt_key=data.get("prompt_key"), payload=data["payload"], page_id=data.get("page_id")
    )


@never_cache
@require_POST
def ask(request: HttpRequest) -> JsonResponse:
    try:
        data = _json_body(request)
    except BadBody as bad:
        return bad.response
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        return error_response(
            "'question' must be a non-empty string.", status=400, code="invalid", fields=["question"]
        )
    return _submit(
        request, prompt_key="rag_answer", payload={"question": question.strip()}, page_id=data.get("page_id")
    )


@never_cache
@require_GET
def csrf(request: HttpRequest) -> JsonResponse:
    """Hands API clients the CSRF token (and cookie) that POSTs must echo in ``X-CSRFToken``."""
    return JsonResponse({"csrf_token": get_token(request), "header": "X-CSRFToken"})


def get_owned_request(request: HttpRequest, request_id: uuid.UUID) -> AIRequest:
    """The caller's own request, or 404: never reveal that another user's id exists."""
    queryset = AIRequest.objects.all()
    if request.user.is_authenticated:
        queryset = queryset.filter(user=request.user)
    elif request.session.session_key:
        queryset = queryset.filter(user__isnull=True, session_key=request.session.session_key)
    else:
        raise Http404("No such request.")
    try:
        return queryset.get(pk=request_id)
    except AIRequest.DoesNotExist:
        raise Http404("No such request.") from None


def serialize_request(ai_request: AIRequest) -> dict[str, Any]:
    # What may be shown is decided in one place (ai_core.gate), for this API, the stream and pages.
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
        summary = AIRequest.objects.filter(
            pk=request_id, prompt_key="page_summary", session_key="system", status=AIRequest.Status.DONE
        ).first()
        if summary is None:
            raise
        return summary


@never_cache
@require_POST
def request_feedback(request: HttpRequest, request_id: uuid.UUID) -> JsonResponse:
    try:
        data = _json_body(request)
        ai_request = _feedback_target(request, request_id)
    except BadBody as bad:
        return bad.response
    except Http404:
        return error_response("No such request.", status=404, code="not_found")
    owner = _owner_fields(request)
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
