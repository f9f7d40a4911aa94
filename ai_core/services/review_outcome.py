"""A reviewer's decision applied to the request it held, and the stream's final ``done`` event.

ai_core is the one writer of an ``AIRequest``'s lifecycle: the review app decides (and keeps its
own item and audit log), this module changes the request. The ``done`` event is built here only,
for the worker (``processing``), Stop and a decision alike, from the visibility rule, so it can never
carry text the rule would not show.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from ai_core.models import AIRequest
from ai_core.resilience.runtime import shared_redis
from ai_core.selectors.visibility import STOPPED, ai_request_visible_output
from ai_core.streams import stream_key, stream_publish

__all__ = ["ReviewNotPending", "ai_request_review_resolve", "done_event_publish"]


class ReviewNotPending(Exception):
    """The request is no longer held for review (already decided, or never held)."""

    def __init__(self, status: str):
        super().__init__(f"The request is no longer awaiting review ({status}).")
        self.status = status


def done_event_publish(*, request: AIRequest, replace_stream: bool = False) -> None:
    """Publish the request's final ``done`` event: what the visibility rule lets through, so never
    held text. ``replace_stream`` first drops the earlier events (a decision: they end with
    "awaiting_review", so a page connecting now must not replay them); a client resuming with
    ``Last-Event-ID`` still gets the new event, whose id is later."""
    if replace_stream:
        shared_redis().delete(stream_key(request.pk))
    stream_publish(request.pk, "done", ai_request_visible_output(request=request).event())


def ai_request_review_resolve(
    *,
    request_id: uuid.UUID | str,
    approved: bool,
    edited_text: str | None = None,
    rejected_message: str = "",
    rejected_code: str = "",
) -> AIRequest:
    """Apply a decision to a request held for review, or raise :class:`ReviewNotPending`.

    Runs inside the caller's transaction (the reviewer's item and audit log commit with it) and
    locks the row. A rejection fails the request with ``rejected_message`` and drops the model's text
    from it (the review item keeps it); an approval shows it (as stopped, when the visitor had
    pressed Stop), with ``edited_text`` in its place when given. Once committed, the stream is
    replaced by the final event; robustly, so the decision stands even if Redis is down (the poll
    API and the result page read the row).
    """
    with transaction.atomic():  # a savepoint in the caller's transaction
        request = AIRequest.objects.select_for_update().get(pk=request_id)
        if request.status != AIRequest.Status.AWAITING_REVIEW:
            raise ReviewNotPending(request.status)
        if not approved:
            request.status, request.result = AIRequest.Status.FAILED, ""
            request.error, request.error_code = rejected_message, rejected_code
        else:
            stopped = request.error_code == STOPPED
            request.status = AIRequest.Status.CANCELLED if stopped else AIRequest.Status.DONE
            if edited_text is not None:
                request.result = edited_text
        request.save(update_fields=["status", "result", "error", "error_code", "updated_at"])
        transaction.on_commit(lambda: done_event_publish(request=request, replace_stream=True), robust=True)
    return request
