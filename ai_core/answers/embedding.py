"""Embedding an approved question (worker only: the approval is an HTTP request, and no model
call runs there), and superseding older approvals of a question this one now answers."""

from __future__ import annotations

from django.db import transaction
from pgvector.django import CosineDistance

from ai_core import providers
from ai_core.models import ApprovedAnswer

from .conf import approved_answer_settings
from .lifecycle import retire

__all__ = ["approved_answer_embed"]


def approved_answer_embed(*, answer_id: int) -> ApprovedAnswer | None:
    """Embed the approved question with the current embedder (in the worker), then let it
    supersede older active answers to a question close enough to be served by it."""
    answer = ApprovedAnswer.objects.filter(pk=answer_id).first()
    if answer is None:
        return None
    embedder = providers.embedder()
    if answer.embedding is None or answer.embedder_id != embedder.embedder_id:
        vector = embedder.embed([answer.question]).vectors[0]
        ApprovedAnswer.objects.filter(pk=answer.pk).update(embedding=vector, embedder_id=embedder.embedder_id)
        answer.embedding, answer.embedder_id = vector, embedder.embedder_id
    if answer.is_active:
        _supersede_similar(answer)
    return answer


def _supersede_similar(answer: ApprovedAnswer) -> None:
    """An older active answer whose question this one would be served for is superseded by it:
    two live approvals of one question would otherwise answer it by a coin toss."""
    threshold = approved_answer_settings().min_similarity
    with transaction.atomic():
        older = (
            ApprovedAnswer.objects.select_for_update()
            .filter(
                status=ApprovedAnswer.Status.ACTIVE,
                prompt_key=answer.prompt_key,
                site_id=answer.site_id,
                locale=answer.locale,
                page_id=answer.page_id,
                embedder_id=answer.embedder_id,
                embedding__isnull=False,
                approved_at__lt=answer.approved_at,
            )
            .annotate(distance=CosineDistance("embedding", list(answer.embedding)))
        )
        for previous in older:
            if 1.0 - float(previous.distance) >= threshold:
                retire(
                    previous,
                    reason=ApprovedAnswer.RetireReason.SUPERSEDED,
                    status=ApprovedAnswer.Status.SUPERSEDED,
                )
