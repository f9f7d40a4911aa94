"""Visitor-facing pages for questions that work without JavaScript: a form post and a result page
that refreshes itself until the answer is ready. The JavaScript version uses the JSON API and SSE."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ai_core import conf
from ai_core.api.http import get_owned_request, request_owner
from ai_core.models import AIRequest
from ai_core.services import RequestRejected, ai_request_submit

from .visibility import PageNotAskable, ask_scope_resolve

MAX_QUESTION_CHARS = 1000


@never_cache
@require_http_methods(["GET", "POST"])
def ask_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "content/ask_page.html", {})
    question = (request.POST.get("question") or "").strip()
    page_id = request.POST.get("page_id") if request.POST.get("scope") == "page" else None
    error = ""
    if not question:
        error = "Please type a question."
    elif len(question) > MAX_QUESTION_CHARS:
        error = f"Please keep your question under {MAX_QUESTION_CHARS} characters."
    elif page_id is not None and not (page_id.isascii() and page_id.isdigit()):  # not "²" or "١٢"
        error = "That page cannot be searched."
    if not error:
        try:
            page = int(page_id) if page_id else None
            scope = ask_scope_resolve(request=request, page_id=page)  # this host's site, the locale
            ai_request = ai_request_submit(
                prompt_key="rag_answer",
                payload={"question": question},
                page_id=page,
                site_id=scope.site_id,
                locale=scope.locale,
                **request_owner(request),
            )
        except PageNotAskable:
            error, status = "That page cannot be searched.", 404
        except RequestRejected as rejected:
            error = rejected.message
            status = rejected.status
        else:
            return redirect("ask_result", request_id=ai_request.pk)
    else:
        status = 400
    return render(request, "content/ask_page.html", {"error": error, "question": question}, status=status)


@never_cache
def ask_result(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    try:
        ai_request = get_owned_request(request, request_id)
    except Http404:
        raise Http404("No such question.") from None
    finished = ai_request.is_terminal
    # While a reviewer decides, refresh slowly so an approval appears without a manual reload.
    refresh = None if finished else (30 if ai_request.status == AIRequest.Status.AWAITING_REVIEW else 2)
    context = {
        "ai_request": ai_request,
        "question": ai_request.payload.get("question", ""),
        "refresh_seconds": refresh,
        "local_mode": ai_request.provider == "local",
        "ask_url": reverse("ask"),
        "anonymous_prompts": conf.setting("ANONYMOUS_PROMPTS"),
    }
    return render(request, "content/ask_result.html", context)
