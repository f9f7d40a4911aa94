"""Embedding an approved question, in the worker (the approval itself is an HTTP request)."""

from __future__ import annotations

from celery import shared_task

from ai_core.logcontext import log_context

from .embedding import approved_answer_embed


@shared_task(name="ai_core.approved_answer_embed", ignore_result=True, soft_time_limit=60, time_limit=90)
def embed_approved_answer(answer_id: int) -> None:
    with log_context(approved_answer_id=str(answer_id)):
        approved_answer_embed(answer_id=int(answer_id))
