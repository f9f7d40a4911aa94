"""Submitting AI requests. Validation happens here, before anything is stored or enqueued."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import redis
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from ai_core import conf
from ai_core.budgets.ratelimit import RateLimited, rate_limit_check
from ai_core.budgets.services import (
    POOL_SYSTEM,
    BudgetExceeded,
    budget_release,
    budget_reservation,
    budget_reserve,
    estimate_tokens,
)
from ai_core.logcontext import bind_log_context, log_context
from ai_core.models import AIRequest
from ai_core.privacy.conf import privacy_settings
from ai_core.privacy.masking import mask_payload
from ai_core.prompts.registry import UnknownPromptError, get_prompt
from ai_core.selectors.visibility import SYSTEM_SESSION_KEY
from ai_core.services.rows import insert_together

__all__ = [
    "MAX_PAGE_ID",
    "SYSTEM_SESSION_KEY",
    "RequestRejected",
    "ScopeRejected",
    "ai_request_submit",
    "ai_request_submit_system",
    "storable_text",
]

logger = logging.getLogger(__name__)


# AIRequest.page_id is a PositiveIntegerField: a larger id names no page and would make the insert fail.
MAX_PAGE_ID = 2**31 - 1
MAX_LOCALE_CHARS = 20  # AIRequest.locale and KnowledgeChunk.locale


def storable_text(value: Any) -> bool:
    """True unless a string anywhere in ``value`` (dict keys included) holds text PostgreSQL cannot
    store in text or JSONB: a NUL character or an unpaired surrogate (``\\u0000``, ``\\ud800``).
    Refused up front with a 400 rather than failing with a 500 when the row is written."""
    pending = [value]
    while pending:  # iterative: the nesting depth is only bounded by the body size
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


class ScopeRejected(Exception):
    """The asker named a scope (a page) they may not ask about; answered as if it did not exist.

    Raised by the ``AI_CORE["REQUEST_SCOPE"]`` resolver, which the site supplies (ai_core knows no
    sites or pages); the HTTP API turns it into a 404."""


class RequestRejected(Exception):
    """A request that must not be accepted; ``status`` is the HTTP status the API answers with."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: str = "invalid",
        fields: list[str] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields = fields or []
        self.retry_after = retry_after


def _redis_unavailable() -> RequestRejected:
    """Budgets and rate limits live in Redis: while it is unreachable nothing can be admitted (or
    charged), so the visitor is asked to come back, with a 503 rather than a server error."""
    logger.warning("ai_request refused: Redis is unavailable for rate limits and budgets")
    return RequestRejected(
        "The AI service is briefly unavailable. Please try again in a moment.",
        status=503,
        code="unavailable",
        retry_after=30,
    )


def ai_request_submit(
    *,
    prompt_key: Any,
    payload: Any,
    user=None,
    session_key: str = "",
    client_ip: str | None = None,
    page_id: int | None = None,
    site_id: int | None = None,
    locale: str = "",
) -> AIRequest:
    """Validate and store a request, then enqueue its task once the row is committed.

    ``site_id`` and ``locale`` say where it was asked (the caller resolves them: ai_core knows no
    sites); retrieval is scoped to them, and without a site only shared documents are searched.
    """
    if not isinstance(prompt_key, str) or not prompt_key or not storable_text(prompt_key):
        raise RequestRejected("'prompt_key' must be a non-empty string.", fields=["prompt_key"])
    if not isinstance(payload, Mapping):
        raise RequestRejected("'payload' must be a JSON object.", fields=["payload"])
    try:
        spec = get_prompt(prompt_key)
    except UnknownPromptError as err:
        raise RequestRejected(
            f"Unknown prompt_key {prompt_key!r}.", code="unknown_prompt", fields=["prompt_key"]
        ) from err
    authenticated = user is not None and user.is_authenticated
    if not authenticated and prompt_key not in conf.setting("ANONYMOUS_PROMPTS"):
        raise RequestRejected("Log in to use this prompt.", status=403, code="login_required")
    missing = spec.missing_inputs(payload)
    if missing:
        raise RequestRejected(
            f"Missing required payload field(s): {', '.join(missing)}.",
            code="missing_variables",
            fields=missing,
        )
    wrong_type = [
        name
        for name in spec.variables
        if isinstance(payload[name], bool) or not isinstance(payload[name], str | int | float)
    ]
    if wrong_type:
        raise RequestRejected(
            f"Payload field(s) must be text: {', '.join(wrong_type)}.", code="invalid_type", fields=wrong_type
        )
    unstorable = [
        name for name in spec.variables if isinstance(payload[name], str) and not storable_text(payload[name])
    ]
    if unstorable:
        raise RequestRejected(
            f"Payload field(s) contain a NUL character or invalid Unicode: {', '.join(unstorable)}.",
            code="invalid_encoding",
            fields=unstorable,
        )
    if page_id is not None and (
        not isinstance(page_id, int) or isinstance(page_id, bool) or not 1 <= page_id <= MAX_PAGE_ID
    ):
        raise RequestRejected("'page_id' must be a positive integer.", fields=["page_id"])
    if site_id is not None and (
        not isinstance(site_id, int) or isinstance(site_id, bool) or not 1 <= site_id <= MAX_PAGE_ID
    ):
        raise RequestRejected("'site_id' must be a positive integer.", fields=["site_id"])
    if not isinstance(locale, str) or len(locale) > MAX_LOCALE_CHARS or not storable_text(locale):
        raise RequestRejected(f"'locale' must be a language code of at most {MAX_LOCALE_CHARS} characters.")

    clean_payload = {name: payload[name] for name in spec.variables}
    if spec.key in privacy_settings().mask_contact_details:
        # Masked before it is stored, so the model is given the masked text too: a visitor's e-mail
        # address or phone number reaches neither the database nor the provider (ai_core/privacy).
        clean_payload = mask_payload(clean_payload)
    owner = {"user": user if authenticated else None, "session_key": "" if authenticated else session_key}
    if not authenticated:
        try:
            identities = [
                f"anon:{session_key}" if session_key else "",
                f"ip:{client_ip}" if client_ip else "",
            ]
            rate_limit_check(identities=[identity for identity in identities if identity])
        except RateLimited as err:
            raise RequestRejected(
                "Too many questions in a short time. Please wait a moment and try again.",
                status=429,
                code="rate_limited",
                retry_after=err.retry_after,
            ) from err
        except redis.RedisError as err:
            raise _redis_unavailable() from err
    try:
        hold = budget_reserve(tokens=estimate_tokens(spec, clean_payload), client_ip=client_ip, **owner)
    except BudgetExceeded as err:
        raise RequestRejected(
            err.message, status=429, code="budget_exceeded", retry_after=err.retry_after
        ) from err
    except redis.RedisError as err:
        raise _redis_unavailable() from err
    request = AIRequest(
        **owner,
        client_ip=client_ip,
        prompt_key=spec.key,
        prompt_version=spec.version,
        payload=clean_payload,
        page_id=page_id,
        site_id=site_id,
        locale=locale,
    )
    try:
        # One statement, so both rows or neither (a request without its reservation would be run
        # by the recovery sweep without a budget), in one round trip to PostgreSQL.
        insert_together(request, budget_reservation(request=request, hold=hold))
    except BaseException:
        budget_release(hold)
        raise
    _enqueue(request, bind=True)
    return request


def ai_request_submit_system(
    *, prompt_key: str, payload: Mapping[str, Any], page_id: int | None = None
) -> AIRequest:
    """A request the site makes for itself (page summaries): no user, charged to the system pool,
    so visitors draining their pools never stop it (``BudgetExceeded`` when the system pool is out)."""
    spec = get_prompt(prompt_key)
    missing = spec.missing_inputs(payload)
    if missing:
        raise RequestRejected(f"Missing required payload field(s): {', '.join(missing)}.", fields=missing)
    clean_payload = {name: payload[name] for name in spec.variables}
    hold = budget_reserve(tokens=estimate_tokens(spec, clean_payload), pool=POOL_SYSTEM)
    request = AIRequest(
        session_key=SYSTEM_SESSION_KEY, prompt_key=spec.key, prompt_version=spec.version, payload=clean_payload,
        page_id=page_id,
    )  # fmt: skip
    try:
        insert_together(request, budget_reservation(request=request, hold=hold))
    except BaseException:
        budget_release(hold)
        raise
    _enqueue(request, bind=False)  # often one of many (a publish, a command): keep no context
    return request


def _enqueue(request: AIRequest, *, bind: bool) -> None:
    """Queue the task after commit. The worker's log lines for the task carry the request id (the
    message takes it along in a header, see ai_core/logcontext); with ``bind`` so do the rest of
    this HTTP request's (LogContextMiddleware drops it when the response is done)."""
    from ai_core.tasks.requests import process_ai_request, process_system_request

    # Work the site asks for itself goes on its own task, routed apart from visitors' answers.
    task = process_ai_request if bind else process_system_request
    fields = {"ai_request_id": request.pk, "prompt_key": request.prompt_key}
    if bind:
        bind_log_context(**fields)
    with log_context(**fields):
        logger.info("ai_request submitted prompt_version=%s", request.prompt_version)

    def send() -> None:
        # on_commit may run after the caller's context is gone (an outer atomic block), so re-bind.
        with log_context(**fields):
            try:
                task.delay(str(request.pk))
            except (KombuOperationalError, redis.RedisError):
                # The row is committed and the budget held: the visitor keeps a pollable request,
                # and the recovery sweep (ai_core/services/recovery.py) queues it once the broker
                # is back, rather than this request ending in a server error.
                logger.exception("ai_request could not be queued; the recovery sweep will retry it")

    transaction.on_commit(send)
