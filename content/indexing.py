"""Pages into the knowledge index: walk StreamField blocks, chunk, hand over to ``ai_core.rag``.

This is the Wagtail half of indexing (``ai_core.rag`` never sees a page object). Tasks, signal
receivers, commands and admin actions all end up in ``page_index_sync``, which makes the index
match the page's *current* state, whatever it is: live and public → chunks for the live content;
draft-only, unpublished, private or deleted → no chunks. Running it twice is harmless, so every
trigger can simply queue it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from wagtail.models import Page

from ai_core import providers
from ai_core.rag.api import (
    Chunk,
    Segment,
    SourceRef,
    SyncOutcome,
    chunk_segments,
    chunks_remove,
    chunks_sync,
    html_to_text,
    page_indexed,
    retrieval_settings,
    source_lock,
)
from ai_core.rag.models import KnowledgeChunk, PageIndexState

from .models import ArticlePage
from .visibility import page_site_id

logger = logging.getLogger(__name__)

# Page types whose content is indexed. Section and home pages only hold short intros.
INDEXED_MODELS: tuple[type[Page], ...] = (ArticlePage,)


def page_segments(page: ArticlePage) -> list[Segment]:
    """Flatten the page's intro and body blocks, keeping each block's stable id."""
    segments = [Segment(block_id="", text=page.intro)] if page.intro.strip() else []
    for block in page.body:
        value, kind = block.value, block.block_type
        if kind == "heading":
            level = 3 if value.get("level") == "h3" else 2
            segments.append(Segment(block_id=block.id, text=value.get("text", ""), heading_level=level))
        elif kind == "paragraph":
            segments.append(
                Segment(block_id=block.id, text=html_to_text(getattr(value, "source", str(value))))
            )
        elif kind == "list":
            segments.append(Segment(block_id=block.id, units=tuple(i for i in value.get("items", []) if i)))
        elif kind == "quote":
            attribution = value.get("attribution", "")
            text = f"\u201c{value.get('quote', '')}\u201d" + (f" \u2014 {attribution}" if attribution else "")
            segments.append(Segment(block_id=block.id, text=text))
        elif kind == "image":
            caption = value.get("caption") or value.get("alt_text") or ""
            if caption:
                segments.append(Segment(block_id=block.id, text=f"Image: {caption}"))
        else:  # a block type added later: index its searchable text rather than nothing
            text = " ".join(str(t) for t in block.block.get_searchable_content(value) if t)
            if text.strip():
                segments.append(Segment(block_id=block.id, text=text))
    return [s for s in segments if s.text.strip() or s.units]


def page_chunks_for(page: ArticlePage, *, embedder=None) -> list[Chunk]:
    embedder = embedder or providers.embedder()
    config = retrieval_settings().chunking_for(embedder)
    return chunk_segments(page_segments(page), title=page.title, config=config)


def _indexable(page_id: int) -> tuple[ArticlePage | None, str]:
    """The live, public page to index, or ``None`` and why not."""
    page = Page.objects.filter(pk=page_id).first()
    if page is None:
        return None, "deleted"
    specific = page.specific
    if not isinstance(specific, INDEXED_MODELS):
        return None, "not indexed type"
    if not page.live:
        return None, "unpublished"
    if page.get_view_restrictions().exists():
        return None, "private"
    if page_site_id(page) is None:
        # In no site's tree: no visitor can open it, so no answer may cite it (nor link nowhere).
        return None, "unroutable"
    return specific, "indexed"


def _source(page: ArticlePage) -> SourceRef:
    return SourceRef(
        page_id=page.pk,
        page_revision_id=page.live_revision_id,
        site_id=page_site_id(page),
        locale=page.locale.language_code,
        title=page.title,
        url=page.get_url() or "",
    )


def _still_indexable(page_id: int) -> str:
    """Read again after embedding: each statement sees what committed meanwhile (READ COMMITTED),
    so a restriction, unpublish or delete that landed during the embedding call is seen here."""
    page, status = _indexable(page_id)
    return "" if page is not None else status


def page_index_sync(*, page_id: int) -> SyncOutcome:
    """Bring one page's chunks in line with its current state; see the module docstring."""
    embedder = providers.embedder()
    with source_lock("page", page_id):
        page, status = _indexable(page_id)
        if page is None:
            outcome = chunks_remove(source=SourceRef(page_id=page_id), reason=status)
        else:
            outcome = chunks_sync(
                source=_source(page),
                chunks=page_chunks_for(page, embedder=embedder),
                embedder=embedder,
                recheck=lambda: _still_indexable(page_id),
            )
            if outcome.withdrawn:
                page, status = None, outcome.withdrawn
        PageIndexState.objects.update_or_create(
            page_id=page_id,
            defaults={
                "page_revision_id": page.live_revision_id if page else None,
                "embedder_id": embedder.embedder_id if page else "",
                "chunk_count": outcome.chunks,
                "embedded": outcome.embedded,
                "reused": outcome.reused,
                "removed": outcome.removed,
                "indexed_at": timezone.now(),
                "status": "empty" if page and not outcome.chunks else status,
            },
        )
        transaction.on_commit(
            lambda: page_indexed.send(
                sender=PageIndexState,
                page_id=page_id,
                chunks=outcome.chunks,
                embedded=outcome.embedded,
                reused=outcome.reused,
                removed=outcome.removed,
            )
        )
    return outcome


def pages_unindex_now(*, page_ids: Iterable[int], reason: str) -> int:
    """Remove chunks immediately, in the caller's transaction (a page just became private,
    was unpublished or deleted), under each page's source lock.

    Not only queued: the index should not hold the page a moment longer than needed (retrieval's
    query-time check already hides it from visitors). The lock is only *tried*: a page whose index
    run is embedding right now is left to that run's own re-check before it writes, and to the
    ``index_page`` task the receivers queue after commit, which waits for the lock and removes.
    """
    removed = 0
    for page_id in page_ids:
        with source_lock("page", page_id, wait=False) as locked:
            if not locked:
                logger.info(
                    "page %s is being indexed; its removal (%s) is left to the queued task", page_id, reason
                )
                continue
            outcome = chunks_remove(source=SourceRef(page_id=page_id), reason=reason)
            PageIndexState.objects.filter(page_id=page_id).update(
                chunk_count=0, status=reason, indexed_at=timezone.now()
            )
        removed += outcome.removed
    return removed


def indexed_descendant_ids(page: Page, *, inclusive: bool = True) -> list[int]:
    """Ids of indexable pages at or below ``page`` (a section made private, a moved subtree)."""
    models_qs = Page.objects.descendant_of(page, inclusive=inclusive).type(*INDEXED_MODELS)
    return list(models_qs.values_list("pk", flat=True))


# --- selection for reindex -------------------------------------------------------------------


def pages_to_reindex(
    *, all_pages: bool = False, page_id: int | None = None, since: datetime | None = None
) -> list[int]:
    """Page ids for ``reindex``: indexed types, plus pages that have chunks but should not (cleanup)."""
    if page_id is not None:
        return [page_id]
    qs = Page.objects.type(*INDEXED_MODELS)
    if since is not None and not all_pages:
        qs = qs.filter(last_published_at__gte=since)
    ids = set(qs.values_list("pk", flat=True))
    if all_pages:
        ids |= set(
            KnowledgeChunk.objects.filter(page_id__isnull=False).values_list("page_id", flat=True).distinct()
        )
    return sorted(ids)


@dataclass(kw_only=True)
class ReindexEstimate:
    pages: int = 0
    chunks: int = 0
    to_embed: int = 0
    reusable: int = 0
    to_remove: int = 0
    tokens: int = 0


def reindex_estimate(page_ids: Iterable[int]) -> Iterator[tuple[int, ReindexEstimate]]:
    """What ``page_index_sync`` would do, without embedding or writing (``reindex --dry-run``)."""
    embedder = providers.embedder()
    for page_id in page_ids:
        estimate = ReindexEstimate(pages=1)
        page, _ = _indexable(page_id)
        stored = list(
            KnowledgeChunk.objects.filter(page_id=page_id).values_list("content_hash", "embedder_id")
        )
        if page is not None:
            reusable = [h for h, e in stored if e == embedder.embedder_id]
            for chunk in page_chunks_for(page, embedder=embedder):
                estimate.chunks += 1
                if chunk.content_hash in reusable:
                    reusable.remove(chunk.content_hash)
                    estimate.reusable += 1
                else:
                    estimate.to_embed += 1
                    estimate.tokens += chunk.token_estimate
        estimate.to_remove = len(stored) - estimate.reusable
        yield page_id, estimate
