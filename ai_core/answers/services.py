"""Writes of the approved-answer store (``ai_core.models.ApprovedAnswer``).

The review app calls ``approved_answer_create`` inside the transaction of a reviewer's approval;
the question's embedding is computed afterwards by a task in the worker (never in the reviewer's
HTTP request), and until then the answer is simply not served. Retiring and superseding only ever
take an answer out of service; nothing here puts a retired answer back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from ai_core.models import AIRequest, ApprovedAnswer, LLMUsageLog
from ai_core.rag.models import KnowledgeChunk
from ai_core.selectors.visibility import STOPPED

from .conf import approved_answer_settings
from .lifecycle import retire as _retire

__all__ = [
    "approved_answer_create",
    "approved_answer_reapprove",
    "approved_answer_retire",
    "approved_answer_use_record",
    "approved_answers_retire_citing",
]

# ``provider`` and ``model`` of a request (and its usage row) answered with an approved answer.
REUSE_PROVIDER = "approved_answer"

logger = logging.getLogger(__name__)

_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SPACE = re.compile(r"\s+")


def question_key(question: str) -> str:
    """The question as compared for "the same question": case and spacing do not matter."""
    return _SPACE.sub(" ", question).strip().casefold()


def cited_numbers(text: str) -> set[int]:
    return {int(n) for group in _CITATION.findall(text) for n in group.split(",")}


def _locked_sources(citations: Sequence[dict], chunks: dict[int, KnowledgeChunk]) -> list[dict]:
    return [
        {
            "number": int(c["number"]),
            "chunk_id": int(c["chunk_id"]),
            "content_hash": chunks[int(c["chunk_id"])].content_hash,
            "page_id": chunks[int(c["chunk_id"])].page_id,
            "document_id": chunks[int(c["chunk_id"])].document_id,
            "block_ids": list(chunks[int(c["chunk_id"])].block_ids),
            "title": c.get("title") or chunks[int(c["chunk_id"])].title,
            "url": c.get("url") or chunks[int(c["chunk_id"])].anchor_url,
            "text": chunks[int(c["chunk_id"])].text,
        }
        for c in citations
    ]


def _cited(citations: Sequence[dict], text: str) -> list[dict]:
    """The sources the approved text cites by number; all it was given when it cites none."""
    usable = [c for c in citations if str(c.get("chunk_id") or "").isdigit()]
    numbers = cited_numbers(text)
    cited = [c for c in usable if int(c["number"]) in numbers]
    return cited or usable


def _supersede_same_question(answer: ApprovedAnswer) -> None:
    """Older active answers to the same question in the same scope stop being served."""
    older = ApprovedAnswer.objects.select_for_update().filter(
        status=ApprovedAnswer.Status.ACTIVE,
        prompt_key=answer.prompt_key,
        site_id=answer.site_id,
        locale=answer.locale,
        page_id=answer.page_id,
    )
    for previous in older.exclude(pk=answer.pk):
        if question_key(previous.question) == question_key(answer.question):
            _retire(
                previous,
                reason=ApprovedAnswer.RetireReason.SUPERSEDED,
                status=ApprovedAnswer.Status.SUPERSEDED,
            )
            if answer.supersedes_id is None:
                answer.supersedes = previous
                answer.save(update_fields=["supersedes"])


def _queue_embedding(answer: ApprovedAnswer) -> None:
    from .tasks import embed_approved_answer  # the task calls this module back, after commit

    answer_id = answer.pk
    transaction.on_commit(
        lambda: embed_approved_answer.apply_async(
            args=[answer_id], task_id=f"approved-answer-embed-{answer_id}"
        ),
        robust=True,
    )


def approved_answer_create(
    *, request: AIRequest, text: str, approved_by=None, edited: bool = False
) -> ApprovedAnswer | None:
    """Keep a reviewer's approval of ``request`` (shown as ``text``) for reuse; None when it cannot
    be reused: another kind of prompt, no question, a partial (stopped) answer, no cited source to
    lock it to, or a cited passage already changed since the model read it (chunk ids are stable
    while a passage's text is unchanged, so a missing id means the passage changed).

    Runs inside the caller's transaction; the embedding is computed by a task after commit.
    """
    config = approved_answer_settings()
    question = str((request.payload or {}).get("question") or "").strip()
    if request.prompt_key not in config.prompts or not question or request.error_code == STOPPED:
        return None
    cited = _cited(request.citations or [], text)
    if not cited:
        return None
    chunks = KnowledgeChunk.objects.defer("embedding", "search_vector").in_bulk(
        [int(c["chunk_id"]) for c in cited]
    )
    if len(chunks) < len({int(c["chunk_id"]) for c in cited}):
        logger.info("approved output %s not kept for reuse: a cited passage changed since", request.pk)
        return None
    sources = _locked_sources(cited, chunks)
    cost = LLMUsageLog.objects.filter(request=request).aggregate(total=Sum("cost_usd"))["total"]
    with transaction.atomic():
        answer = ApprovedAnswer.objects.create(
            question=question,
            site_id=request.site_id,
            locale=request.locale,
            page_id=request.page_id,
            prompt_key=request.prompt_key,
            prompt_version=request.prompt_version,
            text=text,
            edited=edited,
            sources=sources,
            cited_chunk_ids=sorted({s["chunk_id"] for s in sources}),
            cited_page_ids=sorted({s["page_id"] for s in sources if s["page_id"] is not None}),
            generation_cost_usd=cost or 0,
            source_request=request,
            approved_by=approved_by,
            approved_at=timezone.now(),
        )
        _supersede_same_question(answer)
        _queue_embedding(answer)
    return answer


def approved_answer_reapprove(
    *, answer: ApprovedAnswer, text: str, approved_by=None, chunk_ids: Sequence[int] | None = None
) -> ApprovedAnswer:
    """A reviewer approves (possibly edited) ``text`` again for ``answer``'s question, e.g. after a
    cited source changed: a new answer, locked to the passages as they are *now*, supersedes it.

    ``chunk_ids`` (one per source, in ``answer.sources`` order) name the passages to lock to; by
    default each source's own chunk, or the current chunk of its page holding its first block. A
    source with no current passage raises ``ValueError`` (nothing to lock that citation to).
    """
    sources = answer.sources or []
    if chunk_ids is None:
        chunk_ids = [_current_chunk_id(s) for s in sources]
    if len(chunk_ids) != len(sources) or any(c is None for c in chunk_ids):
        raise ValueError("A cited source no longer exists; the answer cannot be locked to it.")
    chunks = KnowledgeChunk.objects.defer("embedding", "search_vector").in_bulk(list(chunk_ids))
    if len(chunks) < len(set(chunk_ids)):
        raise ValueError("A cited source no longer exists; the answer cannot be locked to it.")
    citations = [
        {"number": s["number"], "chunk_id": cid, "title": chunks[cid].title, "url": chunks[cid].anchor_url}
        for s, cid in zip(sources, chunk_ids, strict=True)
    ]
    locked = _locked_sources(citations, chunks)
    with transaction.atomic():
        previous = ApprovedAnswer.objects.select_for_update().get(pk=answer.pk)
        fresh = ApprovedAnswer.objects.create(
            question=previous.question,
            # Same question, same embedder: the vector carries over; else the task embeds it.
            embedding=previous.embedding,
            embedder_id=previous.embedder_id,
            site_id=previous.site_id,
            locale=previous.locale,
            page_id=previous.page_id,
            prompt_key=previous.prompt_key,
            prompt_version=previous.prompt_version,
            text=text.strip(),
            edited=text.strip() != previous.text.strip() or previous.edited,
            sources=locked,
            cited_chunk_ids=sorted({s["chunk_id"] for s in locked}),
            cited_page_ids=sorted({s["page_id"] for s in locked if s["page_id"] is not None}),
            generation_cost_usd=previous.generation_cost_usd,
            source_request=previous.source_request,
            supersedes=previous,
            approved_by=approved_by,
            approved_at=timezone.now(),
        )
        if previous.status == ApprovedAnswer.Status.ACTIVE:
            _retire(
                previous,
                reason=ApprovedAnswer.RetireReason.SUPERSEDED,
                status=ApprovedAnswer.Status.SUPERSEDED,
            )
        else:
            # Already retired (e.g. source changed): it keeps that reason, and points to its successor.
            pass
        if fresh.embedding is None:
            _queue_embedding(fresh)
    return fresh


def _current_chunk_id(source: dict) -> int | None:
    if KnowledgeChunk.objects.filter(pk=source["chunk_id"]).exists():
        return int(source["chunk_id"])
    blocks = [b for b in source.get("block_ids") or [] if b]
    if source.get("page_id") is None or not blocks:
        return None
    return (
        KnowledgeChunk.objects.filter(page_id=source["page_id"], block_ids__contains=[blocks[0]])
        .order_by("position")
        .values_list("pk", flat=True)
        .first()
    )


def approved_answer_retire(
    *, answer: ApprovedAnswer, reason: str = ApprovedAnswer.RetireReason.REVIEWER, user=None
) -> ApprovedAnswer:
    """Stop serving ``answer`` (idempotent: an answer already out of service keeps its reason)."""
    with transaction.atomic():
        locked = ApprovedAnswer.objects.select_for_update().get(pk=answer.pk)
        if locked.status == ApprovedAnswer.Status.ACTIVE:
            _retire(locked, reason=reason, user=user)
    return locked


def approved_answers_retire_citing(
    *, chunk_ids: Iterable[int] = (), page_ids: Iterable[int] = (), reason: str, user=None
) -> list[int]:
    """Retire every active answer citing any of ``chunk_ids`` or any chunk of ``page_ids``;
    returns their ids."""
    chunk_ids, page_ids = [int(c) for c in chunk_ids], [int(p) for p in page_ids]
    if not chunk_ids and not page_ids:
        return []
    match = Q(cited_chunk_ids__overlap=chunk_ids) if chunk_ids else Q()
    if page_ids:
        match = (
            (match | Q(cited_page_ids__overlap=page_ids))
            if chunk_ids
            else Q(cited_page_ids__overlap=page_ids)
        )
    with transaction.atomic():
        answers = list(
            ApprovedAnswer.objects.select_for_update().filter(match, status=ApprovedAnswer.Status.ACTIVE)
        )
        for answer in answers:
            _retire(answer, reason=reason, user=user)
    return [a.pk for a in answers]


def on_chunks_removed(sender, *, chunk_ids, reason: str = "", **kwargs) -> None:
    """``chunks_removed`` receiver: a page or document that left the index (unpublished, private,
    deleted) takes the answers resting on it out of service for good. Serving already refuses them
    (their chunks are gone), but an answer left "active" would come back unreviewed if the same
    text were indexed again under new chunk ids, and the admin would list it as in service.
    Never raises: the removal, often for privacy, must land whatever happens here."""
    try:
        with transaction.atomic():
            retired = approved_answers_retire_citing(
                chunk_ids=chunk_ids, reason=ApprovedAnswer.RetireReason.SOURCE_REMOVED
            )
    except Exception:
        logger.exception("approved answers citing removed chunks were not retired (%s)", reason)
        return
    if retired:
        logger.info("retired %d approved answers: their source was removed (%s)", len(retired), reason)


def approved_answer_use_record(*, answer: ApprovedAnswer, request: AIRequest, attempt: int = 1) -> bool:
    """``request`` is answered with ``answer`` (worker, inside the transaction that ends it): the
    hit, the provenance (so freshness tracking covers the reused answer too) and a usage row at
    zero tokens and zero cost, which the dashboard counts as a model call avoided.

    False, recording nothing, when the answer left service since the lookup: the row is locked
    first, so a Retire (or a publish retiring it) either lands before and wins, or waits."""
    from django.db.models import F

    from ai_core.rag.services.freshness import output_provenance_record

    if (
        not ApprovedAnswer.objects.select_for_update()
        .filter(pk=answer.pk, status=ApprovedAnswer.Status.ACTIVE)
        .exists()
    ):
        return False
    output_provenance_record(request=request, chunk_ids=list(answer.cited_chunk_ids))
    ApprovedAnswer.objects.filter(pk=answer.pk).update(hits=F("hits") + 1, last_used_at=timezone.now())
    LLMUsageLog.objects.create(
        request=request,
        operation=LLMUsageLog.Operation.GENERATION,
        prompt_key=request.prompt_key,
        prompt_version=request.prompt_version,
        provider=REUSE_PROVIDER,
        model=REUSE_PROVIDER,
        latency_ms=0,
        outcome=LLMUsageLog.Outcome.APPROVED_ANSWER,
        attempt=attempt,
        subject_type="approved_answer",
        subject_id=str(answer.pk),
    )
    return True
