"""What of a request may be shown: the one rule the poll API, the stream's final event, the no-JS
result page and the summary tag all read, so a new path cannot forget a status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import dateformat, timezone

from ai_core.models import AIRequest

__all__ = [
    "STOPPED",
    "SYSTEM_SESSION_KEY",
    "VisibleOutput",
    "ai_request_is_public_summary",
    "ai_request_visible_output",
]


# ``AIRequest.error_code`` of an answer the visitor stopped: after a reviewer approves a held
# partial it becomes CANCELLED again (shown as incomplete), not DONE.
STOPPED = "stopped"

# ``AIRequest.session_key`` of the site's own requests (``ai_request_submit_system``: page
# summaries). A visitor's session key is a random 32-character string, so it never equals this.
SYSTEM_SESSION_KEY = "system"


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
    # Answered with an approved answer: when a reviewer approved it (shown as "Reviewed on DATE").
    reviewed_at: datetime | None = None

    @property
    def shown(self) -> bool:
        return self.text is not None

    @property
    def reviewed_label(self) -> str:
        if self.reviewed_at is None:
            return ""
        return f"Reviewed on {dateformat.format(timezone.localtime(self.reviewed_at), 'j F Y')}"

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
        if self.reviewed_at is not None:
            data["reviewed_at"], data["reviewed_label"] = self.reviewed_at.isoformat(), self.reviewed_label
        return data


def ai_request_visible_output(*, request: AIRequest) -> VisibleOutput:
    """What may be shown of ``request``. Only DONE and CANCELLED carry visible text: the worker
    stores an output under either status only once the output gate let it through (or a reviewer
    approved it); anything the gate holds is AWAITING_REVIEW, whose text nobody outside review
    reads. Citations belong to finished answers only; a stopped one keeps its text alone."""
    status = request.status
    if status == AIRequest.Status.DONE:
        reviewed = request.approved_answer.approved_at if request.approved_answer_id else None
        return VisibleOutput(status=status, text=request.result, citations=list(request.citations or []),
                             model=request.model_used, reviewed_at=reviewed)  # fmt: skip
    if status == AIRequest.Status.CANCELLED:
        return VisibleOutput(status=status, text=request.result, model=request.model_used, stopped=True)
    if status == AIRequest.Status.FAILED:
        return VisibleOutput(status=status, message=request.error, model=request.model_used)
    return VisibleOutput(status=status, model=request.model_used)


def ai_request_is_public_summary(*, request: AIRequest) -> bool:
    """Whether ``request`` is a finished page summary the site asked for itself: every visitor
    sees those on the page, so anyone may read (and rate) them, not only the person who asked."""
    return (
        request.prompt_key == "page_summary"
        and request.session_key == SYSTEM_SESSION_KEY
        and request.status == AIRequest.Status.DONE
    )
