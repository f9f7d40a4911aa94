"""Answering a question with an approved answer: the worker's lookup and lock check.

Runs in the Celery task only (it embeds the question). A question is answered from an approved
answer when one in the same scope (prompt, site, locale, page) has a question embedding at least
``MIN_SIMILARITY`` from it, no word check says the two ask different things (another number, day,
period or currency, an opposite, swapped roles: ``matching``), and every passage that answer cites is still the passage the reviewer
approved (same chunk id, same content hash) on a page still live, public and on the asker's site
(retrieval's own query-time check). Anything less and the question is generated and gated as
usual: a wrong reused answer would be worse than a model call.
"""

from __future__ import annotations

import logging

from pgvector.django import CosineDistance

from ai_core import providers
from ai_core.models import AIRequest, ApprovedAnswer
from ai_core.rag.conf import retrieval_settings
from ai_core.rag.models import KnowledgeChunk

# Retrieval's own query-time access check (the same pages and documents a fresh answer could cite).
from ai_core.rag.selectors import NO_SITE, allowed_chunk_ids
from ai_core.reuse import ReusedAnswer

from .conf import approved_answer_settings
from .matching import different_question
from .services import approved_answer_use_record

logger = logging.getLogger(__name__)


def _scoped(request: AIRequest, prompt_key: str):
    return ApprovedAnswer.objects.filter(
        status=ApprovedAnswer.Status.ACTIVE,
        prompt_key=prompt_key,
        site_id=request.site_id,
        locale=request.locale,
        page_id=request.page_id,
    )


def approved_answer_servable(*, answer: ApprovedAnswer, site_id: int | None) -> list[dict] | None:
    """The answer's citations as they would be shown now, or None when any cited passage changed
    or left the site (removed, rewritten, its page unpublished, made private or moved)."""
    sources = answer.sources or []
    if not answer.is_active or not sources:
        return None
    ids = [int(s["chunk_id"]) for s in sources]
    rows = {
        row.pk: row
        for row in KnowledgeChunk.objects.filter(pk__in=ids).only(
            "pk", "content_hash", "page_id", "document_id", "title", "url", "block_ids", "heading_path"
        )
    }
    for source in sources:
        row = rows.get(int(source["chunk_id"]))
        if row is None or row.content_hash != source["content_hash"]:
            return None
    allowed = allowed_chunk_ids(
        ids, site=NO_SITE if site_id is None else site_id, settings=retrieval_settings()
    )
    if not set(ids) <= allowed:
        return None
    return [
        {
            "number": source["number"],
            "chunk_id": str(source["chunk_id"]),
            "title": _title(rows[int(source["chunk_id"])]),
            "url": rows[int(source["chunk_id"])].anchor_url,
        }
        for source in sources
    ]


def _title(row: KnowledgeChunk) -> str:
    return f"{row.title} > {row.heading_path}" if row.heading_path else row.title


def approved_answer_match(*, request: AIRequest, spec) -> ReusedAnswer | None:
    """The approved answer to serve for ``request``, if any (see the module docstring).

    Costs nothing when no answer is approved in the scope: the question is embedded only when
    there is something to compare it with. Answers whose question was not embedded yet (or by
    another embedder) are embedded here first, in the worker.
    """
    config = approved_answer_settings()
    if not config.reuse or spec.key not in config.prompts:
        return None
    question = str((request.payload or {}).get("question") or "").strip()
    if not question:
        return None
    scoped = _scoped(request, spec.key)
    if not scoped.exists():
        return None
    embedder = providers.embedder()
    pending = list(scoped.exclude(embedder_id=embedder.embedder_id).only("pk", "question")) + list(
        scoped.filter(embedder_id=embedder.embedder_id, embedding__isnull=True).only("pk", "question")
    )
    if pending:
        vectors = embedder.embed([a.question for a in pending]).vectors
        for answer, vector in zip(pending, vectors, strict=True):
            ApprovedAnswer.objects.filter(pk=answer.pk).update(
                embedding=vector, embedder_id=embedder.embedder_id
            )
    # Remembered for the retrieval that follows when no approved answer is served.
    query = providers.query_vector(question, embedder=embedder)
    nearest = (
        scoped.filter(embedder_id=embedder.embedder_id, embedding__isnull=False)
        .annotate(distance=CosineDistance("embedding", query))
        .order_by("distance", "-approved_at")[: config.candidates]
    )
    for answer in nearest:
        similarity = 1.0 - float(answer.distance)
        if similarity < config.min_similarity:
            break
        if why := different_question(answer.question, question):
            logger.info("approved answer %s not served (similarity %.3f): %s", answer.pk, similarity, why)
            continue
        citations = approved_answer_servable(answer=answer, site_id=request.site_id)
        if citations is not None:
            return ReusedAnswer(
                answer_id=answer.pk,
                text=answer.text,
                citations=citations,
                similarity=similarity,
                record_use=lambda *, request, attempt=1, answer=answer: approved_answer_use_record(
                    answer=answer, request=request, attempt=attempt
                ),
            )
        logger.info("approved answer %s not served: a cited source changed or left the site", answer.pk)
    return None
