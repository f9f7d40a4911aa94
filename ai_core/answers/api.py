"""The approved-answer store's public interface for other apps (the review app writes approvals
and retirements through it; the content app lists dependants). It spans the modules of
``ai_core.answers``; ai_core's own code imports those directly, other apps import from here."""

from ai_core.models import ApprovedAnswer

from .conf import ApprovedAnswerSettings, approved_answer_settings
from .reuse import approved_answer_servable
from .selectors import approved_answers_citing_page, approved_answers_for_admin
from .services import (
    approved_answer_create,
    approved_answer_reapprove,
    approved_answer_retire,
    approved_answers_retire_citing,
    cited_numbers,
)

__all__ = [
    "ApprovedAnswer",
    "ApprovedAnswerSettings",
    "approved_answer_create",
    "approved_answer_reapprove",
    "approved_answer_retire",
    "approved_answer_servable",
    "approved_answer_settings",
    "approved_answers_citing_page",
    "approved_answers_for_admin",
    "approved_answers_retire_citing",
    "cited_numbers",
]
