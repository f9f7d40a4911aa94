"""An approved answer held for a reviewer again, after a passage it cites changed (the review
app's "source changed" items, ``review/impact.py``).

A request of its own rather than a flag on the old one: the approved visitor request is long
finished (and has its review item), while this one waits for a decision like any held output, so
the review queue, its inspect screen, the grounding checks and the decision services all work on
it unchanged. It re-states the approved text against the passages as they read *now*; no model
is called and no budget is spent. Nobody's session owns it, so no visitor can poll it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from ai_core.models import AIRequest, ApprovedAnswer
from ai_core.rag.models import KnowledgeChunk
from ai_core.rag.services.freshness import output_provenance_record
from ai_core.selectors.visibility import SYSTEM_SESSION_KEY

__all__ = ["REREVIEW_PAYLOAD_KEY", "ai_request_open_for_rereview"]

# The payload names the approved answer the request re-states.
REREVIEW_PAYLOAD_KEY = ApprovedAnswer.REREVIEW_PAYLOAD_KEY


def ai_request_open_for_rereview(*, answer, chunk_ids: Sequence[int | None]) -> AIRequest:
    """Hold ``answer``'s text for review, citing ``chunk_ids`` (one per entry of
    ``answer.sources``, in order: the passage that now covers that source's blocks, or ``None``
    where the page no longer has one, which the reviewer sees as a source that is gone).

    Runs in the caller's transaction (the index run that changed the passages)."""
    sources = list(answer.sources or [])
    if len(chunk_ids) != len(sources):
        raise ValueError("chunk_ids needs one entry per source of the approved answer")
    chunks = KnowledgeChunk.objects.defer("embedding", "search_vector").in_bulk(
        [int(c) for c in chunk_ids if c is not None]
    )
    citations = []
    for source, chunk_id in zip(sources, chunk_ids, strict=True):
        chunk = chunks.get(int(chunk_id)) if chunk_id is not None else None
        citations.append(
            {
                "number": int(source.get("number", 0)),
                "chunk_id": str(chunk.pk) if chunk else "",
                "title": (chunk.title if chunk else "") or source.get("title", ""),
                "url": chunk.anchor_url if chunk else source.get("url", ""),
            }
        )
    original = answer.source_request
    now = timezone.now()
    with transaction.atomic():
        request = AIRequest.objects.create(
            session_key=SYSTEM_SESSION_KEY,
            prompt_key=answer.prompt_key,
            prompt_version=answer.prompt_version,
            payload={"question": answer.question, REREVIEW_PAYLOAD_KEY: answer.pk},
            page_id=answer.page_id,
            site_id=answer.site_id,
            locale=answer.locale,
            status=AIRequest.Status.AWAITING_REVIEW,
            result=answer.text,
            provider=original.provider if original else "",
            model_used=original.model_used if original else "",
            citations=citations,
            cited_chunk_ids=[c["chunk_id"] for c in citations if c["chunk_id"]],
            started_at=now,
            finished_at=now,
        )
        output_provenance_record(request=request, chunk_ids=[int(c) for c in chunks])
    return request
