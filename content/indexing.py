"""Pages into the knowledge index: walk StreamField blocks, chunk, hand over to ``ai_core.rag``.

This is the Wagtail half of indexing (``ai_core.rag`` never sees a page object). Tasks, signal
receivers, commands and admin actions all end up in ``page_index_sync``, which makes the index
match the page's *current* state, whatever it is: live and public → chunks for the live content;
draft-only, unpublished, private or deleted → no chunks. Running it twice is harmless, so every
trigger can simply queue it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, TextField
from django.db.models.functions import MD5, Cast
from django.utils import timezone
from wagtail.models import Page, PageViewRestriction, Site

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
    index_fingerprint,
    index_settings_key,
    page_indexed,
    pages_index_current,
    retrieval_settings,
    source_lock,
)
from ai_core.rag.models import KnowledgeChunk, PageIndexState

from .documents.links import page_document_refs
from .models import ArticlePage
from .visibility import page_site_id

logger = logging.getLogger(__name__)

# Page types whose content is indexed. Section and home pages only hold short intros.
INDEXED_MODELS: tuple[type[Page], ...] = (ArticlePage,)

# Bump whenever ``page_segments`` changes what it makes of the same page (a block type indexed
# differently, the intro dropped...): it is part of every page's fingerprint, so re-indexing
# after the bump redoes every page instead of skipping it as unchanged.
SEGMENTS_VERSION = 2  # 2: document blocks, and the documents a page links recorded with it


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
        elif kind == "document":
            # The link itself (the document's text is indexed as a document of its own).
            document = value.get("document")
            caption = value.get("caption") or ""
            label = " \u2014 ".join(t for t in (getattr(document, "title", ""), caption) if t)
            if label:
                segments.append(Segment(block_id=block.id, text=f"Document: {label}"))
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


def page_index_sync(*, page_id: int, removal_only: bool = False) -> SyncOutcome | None:
    """Bring one page's chunks in line with its current state; see the module docstring.

    Records the page's fingerprint with the result, so a later ``pages_index_sync`` can skip the
    page while nothing it was made from has changed. The fingerprint is taken *before* the page
    is read: if an edit commits in between, the recorded fingerprint is the older one, and the
    next run redoes the page rather than skipping new content indexed under an old description.

    ``removal_only`` (the removals queue's re-check): a page that visitors may read again by the
    time this runs is left as it is and ``None`` returned, so that the caller hands it to the
    indexing queue; the removals workers never chunk or embed.
    """
    embedder = providers.embedder()
    with source_lock("page", page_id):
        fingerprint = page_index_fingerprints(page_ids=[page_id], embedder=embedder)[page_id]
        page, status = _indexable(page_id)
        if page is not None and removal_only:
            return None
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
                # Withdrawn mid-run: what was fingerprinted is not what was stored.
                "fingerprint": (fingerprint or "") if not outcome.withdrawn else "",
                "linked_documents": page_document_refs(page) if page else [],
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
            # No fingerprint: it described the page as it was indexed, and the page may come
            # back exactly so (made public again), when its chunks must be rebuilt, not skipped.
            PageIndexState.objects.filter(page_id=page_id).update(
                chunk_count=0, status=reason, indexed_at=timezone.now(), fingerprint=""
            )
        removed += outcome.removed
    return removed


def indexed_descendant_ids(page: Page, *, inclusive: bool = True) -> list[int]:
    """Ids of indexable pages at or below ``page`` (a section made private, a moved subtree)."""
    models_qs = Page.objects.descendant_of(page, inclusive=inclusive).type(*INDEXED_MODELS)
    return list(models_qs.values_list("pk", flat=True))


# --- skipping unchanged pages -----------------------------------------------------------------


def _site_for_path(path: str, sites: list[tuple[str, bool, str, int, int]]) -> int | None:
    """``page_site_id`` over a list read once per batch: the deepest site root above ``path``
    (then the default site, hostname, port), or ``None``."""
    matching = [s for s in sites if path.startswith(s[0])]
    if not matching:
        return None
    matching.sort(key=lambda s: (-len(s[0]), not s[1], s[2], s[3]))
    return matching[0][4]


def page_index_fingerprints(*, page_ids: Iterable[int], embedder=None) -> dict[int, str | None]:
    """For each page, a hash of everything its index entry is made from right now, in a few
    queries for the whole batch (no chunking, no per-page queries but the URL's cached lookup).

    What goes in is what ``page_index_sync`` would decide and store: whether the page may be
    indexed at all (type, live, view restrictions on it or an ancestor, in a site's tree) and
    why not; its live revision; a hash of its title, intro and body as stored (a save without
    a revision changes the body too); its URL, site and locale (a move, a slug or site change);
    ``SEGMENTS_VERSION``; and the embedder and chunking settings (``index_settings_key``).

    ``None`` where a page cannot be judged this cheaply (an alias on its path: Wagtail checks the
    alias's source for restrictions), which the caller treats as "needs work".
    """
    embedder = embedder or providers.embedder()
    settings_key = index_settings_key(embedder=embedder)
    ids = list(dict.fromkeys(int(pk) for pk in page_ids))
    pages = {
        page.pk: page
        for page in ArticlePage.objects.filter(pk__in=ids)
        .only("id", "path", "depth", "url_path", "live", "live_revision_id", "title", "intro", "alias_of_id")
        .annotate(body_md5=MD5(Cast("body", TextField())), language=F("locale__language_code"))
    }
    other = set(Page.objects.filter(pk__in=set(ids) - set(pages)).values_list("pk", flat=True))
    step = Page.steplen
    ancestor_paths = {page.path[:n] for page in pages.values() for n in range(step, len(page.path) + 1, step)}
    restricted = PageViewRestriction.objects.filter(page_id=OuterRef("pk"))
    ancestors = {
        path: (alias_of_id is not None, is_restricted)
        for path, alias_of_id, is_restricted in Page.objects.filter(path__in=ancestor_paths)
        .annotate(is_restricted=Exists(restricted))
        .values_list("path", "alias_of_id", "is_restricted")
    }
    sites = [
        (root_path, is_default, hostname, port, pk)
        for pk, root_path, is_default, hostname, port in Site.objects.values_list(
            "pk", "root_page__path", "is_default_site", "hostname", "port"
        )
    ]
    # Read once for the batch rather than once per page (a cache round trip each): Wagtail keeps
    # the site root paths a URL is built from on the page object under this name. Same data, so
    # the same URLs; if a Wagtail release renames it, each page fetches its own again.
    root_paths = Site.get_site_root_paths()
    fingerprints: dict[int, str | None] = {}
    for page_id in ids:
        page = pages.get(page_id)
        if page is None:
            status = "not indexed type" if page_id in other else "deleted"
            fingerprints[page_id] = index_fingerprint(settings_key=settings_key, parts=[status])
            continue
        chain = [ancestors.get(page.path[:n]) for n in range(step, len(page.path) + 1, step)]
        if any(link is None or link[0] for link in chain):
            fingerprints[page_id] = None  # an alias above (or a path that moved under us)
            continue
        page._wagtail_cached_site_root_paths = root_paths
        site_id = _site_for_path(page.path, sites)
        if not page.live:
            parts: list[object] = ["unpublished"]
        elif any(link[1] for link in chain):
            parts = ["private"]
        elif site_id is None:
            parts = ["unroutable"]
        else:
            parts = [
                "indexed",
                SEGMENTS_VERSION,
                page.live_revision_id,
                page.title,
                page.intro,
                page.body_md5,
                # The tree path as well as the URL: the URL comes through Wagtail's cached site
                # root paths, and a slug change or a move must count even when that cache lags.
                page.url_path,
                page.get_url() or "",
                site_id,
                page.language,
            ]
        fingerprints[page_id] = index_fingerprint(settings_key=settings_key, parts=parts)
    return fingerprints


def pages_needing_index(*, page_ids: Iterable[int], force: bool = False, embedder=None) -> list[int]:
    """The pages among ``page_ids`` (in their order) whose index entry a run would change.

    The rest are exactly as the last run left them (same fingerprint, every recorded chunk still
    stored, by this embedder): indexing them again would chunk and hash the same text and write
    the same rows. ``force`` returns every page (``reindex --force``). Batch-sized: a few queries
    per call, so callers pass a few hundred ids at a time.
    """
    ids = list(dict.fromkeys(int(pk) for pk in page_ids))
    if force or not ids:
        return ids
    embedder = embedder or providers.embedder()
    fingerprints = page_index_fingerprints(page_ids=ids, embedder=embedder)
    current = pages_index_current(fingerprints=fingerprints, embedder=embedder)
    return [page_id for page_id in ids if page_id not in current]


@dataclass(kw_only=True)
class PagesIndexOutcome:
    """Totals of ``pages_index_sync``; ``pages`` counts every page handled, skipped ones included."""

    pages: int = 0
    skipped: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    stale_outputs: int = 0
    failed: dict[int, str] = field(default_factory=dict)


def pages_index_sync(
    *,
    page_ids: Iterable[int],
    force: bool = False,
    batch_size: int = 500,
    progress: Callable[[int, PagesIndexOutcome], None] | None = None,
) -> PagesIndexOutcome:
    """Re-index many pages: skip the unchanged ones a batch at a time, ``page_index_sync`` the rest.

    What ``reindex`` and a batch task call. ``progress(pages done, totals so far)`` runs after
    each batch's check and after each page that needed work. One page failing is recorded in
    ``failed`` (id → error) and the rest go on: one broken page must not stop a full re-index.
    """
    ids = list(dict.fromkeys(int(pk) for pk in page_ids))
    totals = PagesIndexOutcome()
    embedder = providers.embedder()
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        todo = pages_needing_index(page_ids=batch, force=force, embedder=embedder)
        totals.skipped += len(batch) - len(todo)
        totals.pages += len(batch) - len(todo)
        if progress is not None:
            progress(totals.pages, totals)
        for page_id in todo:
            try:
                outcome = page_index_sync(page_id=page_id)
            except Exception as err:  # keep going: one broken page must not stop a full re-index
                totals.failed[page_id] = f"{type(err).__name__}: {err}"
            else:
                totals.chunks += outcome.chunks
                totals.embedded += outcome.embedded
                totals.reused += outcome.reused
                totals.removed += outcome.removed
                totals.stale_outputs += outcome.stale_outputs
            totals.pages += 1
            if progress is not None:
                progress(totals.pages, totals)
    return totals


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
