"""Context builders for ``AI_CORE["CONTEXT_BUILDERS"]``: retrieved chunks become numbered sources.

Each builder also records the output's provenance (chunk ids, page revision ids) because this is
the one place that knows exactly what the model is about to read.
"""

from __future__ import annotations

from ai_core.context import PromptContext
from ai_core.providers.base import Source

from .conf import default_locale, retrieval_settings
from .selectors import NO_SITE, RetrievedChunk, page_summary_chunks, retrieve
from .services.freshness import output_provenance_record


def _title(title: str, heading_path: str, page: int | None = None) -> str:
    """ "Title > Section", and for a document's page "Title > Section, page 4": the citation says
    where in a long PDF the passage is, as its link (``#page=4``) opens there."""
    text = f"{title} > {heading_path}" if heading_path else title
    return f"{text}, page {page}" if page else text


def rag_answer_context(*, request, spec) -> PromptContext:
    """Sources for a visitor's question, from the site and locale it was asked in.

    The ask view recorded both on the request (from the host, as Wagtail resolves it, and the
    page's or the active locale); a request with no site searches shared documents only. On a
    page, only that page's chunks are searched. A locale with no match falls back to the default
    locale when ``LOCALE_FALLBACK`` is on.
    """
    question = str(request.payload.get("question", ""))
    settings = retrieval_settings()
    results: list[RetrievedChunk] = retrieve(
        question,
        site=NO_SITE if request.site_id is None else request.site_id,
        locale=request.locale or None,
        within_page=request.page_id or None,
        settings=settings,
        fallback_locale=default_locale() if settings.locale_fallback and not request.page_id else None,
    )
    sources = [
        Source(
            number=n,
            chunk_id=str(r.chunk_id),
            text=r.text,
            title=_title(r.title, r.heading_path, r.page),
            url=r.url,
        )
        for n, r in enumerate(results, start=1)
    ]
    output_provenance_record(request=request, chunk_ids=[r.chunk_id for r in results])
    return PromptContext(sources=sources)


def page_summary_context(*, request, spec) -> PromptContext:
    """The page's own chunks in reading order, then those of the documents it links (room and
    access permitting), numbered as sources; ``page_title`` for the prompt."""
    chunks = (
        page_summary_chunks(page_id=request.page_id, limit=retrieval_settings().summary_max_chunks)
        if request.page_id
        else []
    )
    sources = [
        Source(
            number=n,
            chunk_id=str(c.pk),
            text=c.text,
            title=_title(c.title, c.heading_path, c.page),
            url=c.anchor_url,
        )
        for n, c in enumerate(chunks, start=1)
    ]
    output_provenance_record(request=request, chunk_ids=[c.pk for c in chunks])
    return PromptContext(sources=sources, values={"page_title": chunks[0].title if chunks else ""})
