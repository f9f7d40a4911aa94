"""Feedback on outputs: one changeable vote per person per output."""

from __future__ import annotations

from ai_core.models import AIFeedback, AIRequest

__all__ = ["FeedbackRejected", "feedback_record"]


class FeedbackRejected(ValueError):
    pass


def feedback_record(
    *, request: AIRequest, vote: str, comment: str = "", user=None, session_key: str = ""
) -> AIFeedback:
    if vote not in AIFeedback.Vote.values:
        raise FeedbackRejected("'vote' must be 'up' or 'down'.")
    if not isinstance(comment, str) or len(comment) > 1000:
        raise FeedbackRejected("'comment' must be text of at most 1000 characters.")
    if request.status != AIRequest.Status.DONE:
        raise FeedbackRejected("Only a finished, visible answer can be rated.")
    authenticated = user is not None and user.is_authenticated
    owner = {"user": user} if authenticated else {"user": None, "session_key": session_key}
    # One row per person and output (AIFeedback's unique constraints): voting again updates it.
    feedback, _created = AIFeedback.objects.update_or_create(
        request=request,
        **owner,
        defaults={
            "vote": vote,
            "comment": comment.strip(),
            "prompt_key": request.prompt_key,
            "prompt_version": request.prompt_version,
        },
    )
    return feedback
