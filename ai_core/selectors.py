"""Reads: over the usage log, aggregated in the database; and what of a request may be shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum
from django.utils import timezone

from ai_core.models import AIRequest, LLMUsageLog


def cache_hit_rates(*, since: dt.datetime | None = None, until: dt.datetime | None = None) -> dict:
    """Prompt-cache hit rate (cached input tokens / all input tokens, Anthropic's sense) and the
    share of generations answered by the response cache, over the usage log from ``since`` up to
    (not including) ``until``."""
    since = since or timezone.now() - dt.timedelta(days=7)
    logs = LLMUsageLog.objects.filter(created_at__gte=since, operation=LLMUsageLog.Operation.GENERATION)
    if until is not None:
        logs = logs.filter(created_at__lt=until)
    totals = logs.aggregate(
        read=Sum("cache_read_tokens"),
        written=Sum("cache_write_tokens"),
        uncached=Sum("input_tokens"),
        answered=Count("id", filter=Q(outcome__in=[LLMUsageLog.Outcome.OK, LLMUsageLog.Outcome.CACHE_HIT])),
        cache_hits=Count("id", filter=Q(outcome=LLMUsageLog.Outcome.CACHE_HIT)),
    )
    read, written, uncached = (totals[k] or 0 for k in ("read", "written", "uncached"))
    all_input = read + written + uncached
    return {
        "since": since,
        "prompt_cache_hit_rate": (read / all_input) if all_input else None,
        "prompt_cache_read_tokens": read,
        "prompt_cache_write_tokens": written,
        "response_cache_hit_rate": (totals["cache_hits"] / totals["answered"])
        if totals["answered"]
        else None,
        "response_cache_hits": totals["cache_hits"],
    }


# --- What of a request may be shown. The one rule the poll API, the stream's final event, the
# no-JS result page and the summary tag all read, so a new path cannot forget a status.

# ``AIRequest.error_code`` of an answer the visitor stopped: after a reviewer approves a held
# partial it becomes CANCELLED again (shown as incomplete), not DONE.
STOPPED = "stopped"


@dataclass(kw_only=True, frozen=True)
class VisibleOutput:
    """The part of a request its audience may read: the person who asked, or, for the site's own
    requests (page summaries), every visitor. Reviewers read the held text in the review queue."""

    status: str
    text: str | None = None  # None: no model text may be shown (held, failed, not finished yet)
    citations: list = field(default_factory=list)
    message: str = ""  # safe to show: the failure or rejection message
    model: str = ""
    stopped: bool = False  # the answer is a partial one, kept when the visitor pressed Stop

    @property
    def shown(self) -> bool:
        return self.text is not None

    def event(self) -> dict:
        """The stream's final ``done`` event."""
        data = {
            "status": self.status,
            "text": self.text or "",
            "citations": self.citations,
            "model": self.model,
        }
        if self.message:
            data["message"] = self.message
        return data


def ai_request_visible_output(*, request: AIRequest) -> VisibleOutput:
    """What may be shown of ``request``. Only DONE and CANCELLED carry visible text: the worker
    stores an output under either status only once the output gate let it through (or a reviewer
    approved it); anything the gate holds is AWAITING_REVIEW, whose text nobody outside review
    reads. Citations belong to finished answers only; a stopped one keeps its text alone."""
    status = request.status
    if status == AIRequest.Status.DONE:
        return VisibleOutput(status=status, text=request.result, citations=list(request.citations or []),
                             model=request.model_used)  # fmt: skip
    if status == AIRequest.Status.CANCELLED:
        return VisibleOutput(status=status, text=request.result, model=request.model_used, stopped=True)
    if status == AIRequest.Status.FAILED:
        return VisibleOutput(status=status, message=request.error, model=request.model_used)
    return VisibleOutput(status=status, model=request.model_used)
