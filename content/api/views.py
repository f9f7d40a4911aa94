"""The site's page-aware question endpoint. The rest of the AI request API (submit, poll, stream,
Stop, feedback, the CSRF token) is ai_core's (``ai_core.api``); both share the ``ai_api`` namespace.

POST /api/ai/ask/    {"question": ..., "page_id": optional}  -> 202 (anonymous allowed)

The page, when given, must be one this visitor can read on this site (``content.visibility``,
reached through ``AI_CORE["REQUEST_SCOPE"]``); the answer is searched for in that site and language.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ai_core.api.http import BadBody, error_response, json_body, request_submit_response


@never_cache
@require_POST
def ask(request: HttpRequest) -> JsonResponse:
    try:
        data = json_body(request)
    except BadBody as bad:
        return bad.response
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        return error_response(
            "'question' must be a non-empty string.", status=400, code="invalid", fields=["question"]
        )
    return request_submit_response(
        request, prompt_key="rag_answer", payload={"question": question.strip()}, page_id=data.get("page_id")
    )
