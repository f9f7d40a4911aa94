"""Context builders for ``AI_CORE["CONTEXT_BUILDERS"]``: retrieved chunks become numbered sources.

Each builder also records the output's provenance (chunk ids, page revision ids) because this is
the one place that knows exactly what the model is about to read.
"""

from __future__ import annotations

from ai_core.context import PromptContext
from ai_core.providers.base import Source

from .conf import retrieval_settings
from .models import KnowledgeChunk
from .selectors import RetrievedChunk, page_chunks, retrieve
from .services.freshness import output_provenance_record


def _title(title: str, heading_path: str) -> str:
    return f"{title} > {heading_path}" if heading_path else title


def _scope_of_page(page_id: int) -> tuple[int | None, str | None]:
    """Site and locale of a page, read from its own chunks (the engine has no page model)."""
    row = KnowledgeChunk.objects.filter(page_id=page_id).values_list("site_id", "locale").first()
    return row if row else (None, None)


def rag_answer_context(*, request, spec) -> PromptContext:
    """Sources for a visitor's question; on a page, only that page's chunks are searched.

    Without a page the search covers every site and locale: ``AIRequest`` does not record the
    site it was asked on (single-site installs, which is what Lectern ships, are unaffected).
    """
    question = str(request.payload.get("question", ""))
    site_id = locale = None
    if request.page_id:
        site_id, locale = _scope_of_page(request.page_id)
    results: list[RetrievedChunk] = retrieve(
        question, site=site_id, locale=locale, within_page=request.page_id or None
    )
    sources = [
        Source(
            number=n,
            chunk_id=str(r.chunk_id),
            text=r.text,
            title=_title(r.title, r.heading_path),
            url=r.url,
        )
        for n, r in enumerate(results, start=1)
    ]
    output_provenance_record(request=request, chunk_ids=[r.chunk_id for r in results])
    return PromptContext(sources=sources)


def page_summary_context(*, request, spec) -> PromptContext:
    """The page's own chunks, in reading order, numbered as sources; ``page_title`` for the prompt."""
    chunks = (
        page_chunks(page_id=request.page_id)[: retrieval_settings().summary_max_chunks]
        if request.page_id
        else []
    )
    sources = [
        Source(
            number=n, chunk_id=str(c.pk), text=c.text, title=_title(c.title, c.heading_path), url=c.anchor_url
        )
        for n, c in enumerate(chunks, start=1)
    ]
    output_provenance_record(request=request, chunk_ids=[c.pk for c in chunks])
    return PromptContext(sources=sources, values={"page_title": chunks[0].title if chunks else ""})
