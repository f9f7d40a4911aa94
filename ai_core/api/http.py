"""The HTTP side of AI requests, shared by every adapter that takes them over HTTP: ai_core's own
API (``ai_core.api.views``, ``ai_core.api.stream``) and other apps' endpoints (the site's ``ask``,
its no-JavaScript ask pages). One place for what a JSON body may hold, who owns a request, how an
error looks and how a submission is answered, so each endpoint only parses its own fields.

Where a question is asked from (the site and language retrieval is scoped to) is the site's rule:
``AI_CORE["REQUEST_SCOPE"]`` names the resolver, so ai_core never imports the app that knows sites.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.module_loading import import_string

from ai_core import conf
from ai_core.clients import client_key
from ai_core.models import AIRequest
from ai_core.services.requests import RequestRejected, ScopeRejected, ai_request_submit, storable_text

__all__ = [
    "BadBody",
    "RequestScope",
    "accepted",
    "error_response",
    "get_owned_request",
    "json_body",
    "request_owner",
    "request_scope",
    "request_submit_response",
]


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
    """The body cannot be read; ``response`` is the 4xx to answer with."""

    def __init__(self, response: JsonResponse):
        self.response = response


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or :class:`BadBody` with a 4xx naming what is wrong with it."""
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
    if not storable_text(data):
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


def request_owner(request: HttpRequest) -> dict[str, Any]:
    """Who a new request belongs to, as ``ai_request_submit``'s keyword arguments: the user, or an
    anonymous visitor's session (created now if there is none yet) and client address."""
    if request.user.is_authenticated:
        return {"user": request.user}
    if not request.session.session_key:
        request.session.save()
    return {
        "user": None,
        "session_key": request.session.session_key,
        "client_ip": client_key(request) or None,
    }


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


def accepted(ai_request: AIRequest) -> JsonResponse:
    """202 with the URLs to poll and to stream the answer."""
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


@dataclass(kw_only=True, frozen=True)
class RequestScope:
    """Where a question is asked from: a site id and a language code (both plain values)."""

    site_id: int | None
    locale: str


class ScopeResolver(Protocol):
    """``AI_CORE["REQUEST_SCOPE"]``: the site serving the request and its language. Raises
    ``ScopeRejected`` for a ``page_id`` the visitor may not ask about; returns anything with
    ``site_id`` and ``locale``."""

    def __call__(self, *, request: HttpRequest, page_id: object = None) -> RequestScope: ...


UNSCOPED = RequestScope(site_id=None, locale="")


@lru_cache(maxsize=4)
def _resolver(path: str) -> ScopeResolver:
    try:
        return import_string(path)
    except ImportError as err:
        raise conf.InvalidAICoreSettingError(
            f"AI_CORE['REQUEST_SCOPE'] = {path!r} cannot be imported: {err}"
        ) from err


def request_scope(*, request: HttpRequest, page_id: object = None) -> RequestScope:
    """The scope per ``AI_CORE["REQUEST_SCOPE"]``; unset: no site and no language (retrieval then
    searches only what belongs to no site)."""
    path = conf.setting_or_none("REQUEST_SCOPE")
    if not path:
        return UNSCOPED
    return _resolver(path)(request=request, page_id=page_id)


def request_submit_response(
    request: HttpRequest, *, prompt_key: Any, payload: Any, page_id: Any = None
) -> JsonResponse:
    """Submit a request for the caller, scoped to where it was asked: 202, or the 4xx that says why not."""
    try:
        # The site serving this host and the locale: retrieval is scoped to them. A page of
        # another site (or a private one) is answered as if it did not exist.
        scope = request_scope(request=request, page_id=page_id)
    except ScopeRejected:
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
            **request_owner(request),
        )
    except RequestRejected as err:
        return error_response(
            err.message, status=err.status, code=err.code, fields=err.fields, retry_after=err.retry_after
        )
    return accepted(ai_request)
