"""Reads of the approved-answer store, for the review admin and the page editor's AI tab."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ai_core.models import ApprovedAnswer

__all__ = ["approved_answers_citing_page", "approved_answers_for_admin"]


def approved_answers_for_admin(*, status: str | None = None, search: str = "") -> QuerySet[ApprovedAnswer]:
    """Every approved answer, newest approval first; ``status`` one of ``ApprovedAnswer.Status``."""
    answers = ApprovedAnswer.objects.select_related("approved_by", "retired_by").defer("embedding")
    if status:
        answers = answers.filter(status=status)
    if search.strip():
        answers = answers.filter(Q(question__icontains=search.strip()) | Q(text__icontains=search.strip()))
    return answers.order_by("-approved_at", "-pk")


def approved_answers_citing_page(*, page_id: int, active_only: bool = True) -> QuerySet[ApprovedAnswer]:
    """Approved answers resting on a passage of page ``page_id``."""
    answers = ApprovedAnswer.objects.filter(cited_page_ids__contains=[int(page_id)]).defer("embedding")
    if active_only:
        answers = answers.filter(status=ApprovedAnswer.Status.ACTIVE)
    return answers.order_by("-approved_at", "-pk")
