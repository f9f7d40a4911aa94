"""Library documents into the knowledge index: read the file, extract, chunk, hand over to ``ai_core.rag``.

``document_index_sync`` makes the index match one document's *current* state, whatever it is:
public and readable → chunks for its text (only changed chunks re-embedded, nothing at all when
the file, title, URL and site are as last indexed); private, deleted → no chunks. A file that
cannot be read (encrypted, a scan with no text, corrupt, too large) is recorded with its status
and changes nothing else: the chunks of the version indexed before it stay searchable, so an
editor's bad upload never takes a working document out of answers. Running it twice is harmless,
so every trigger (upload, replace, delete, privacy, admin, ``reindex --documents``) queues it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.models import Locale

from ai_core import providers
from ai_core.rag.api import (
    EXTRACTOR_VERSION,
    SourceRef,
    SyncOutcome,
    chunk_segments,
    chunks_remove,
    chunks_sync,
    documents_max_bytes,
    extract_document,
    extraction_segments,
    index_fingerprint,
    index_settings_key,
    retrieval_settings,
    source_lock,
)
from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument

from .visibility import NO_SUCH_SITE, SOURCE, document_access

logger = logging.getLogger(__name__)

# Bump when what is made of the same file changes here (segments, metadata); the extractor's own
# changes bump ``EXTRACTOR_VERSION``. Both are in every document's fingerprint, so the next
# re-index redoes each document instead of skipping it.
DOCUMENT_INDEX_VERSION = 1

# The admin's words for the extractor's statuses.
STATUS_LABELS = {
    "ok": "indexed",
    "encrypted": "encrypted",
    "no_text": "no extractable text",
    "unreadable": "unreadable",
    "too_large": "too large",
    "unsupported": "unsupported",
}
# Statuses that leave the stored chunks as they were (the file could not be read).
READ_FAILURES = frozenset(label for key, label in STATUS_LABELS.items() if key != "ok") | {"missing file"}


@dataclass(kw_only=True)
class DocumentIndexOutcome:
    document_id: int
    status: str
    message: str = ""
    skipped: bool = False  # nothing changed since the last run: not extracted, not written
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    stale_outputs: int = 0
    pages: int = 0


def _lock_name(document_id: int) -> tuple[str, int]:
    return "wagtail-document", int(document_id)


def _row(document_id: int) -> KnowledgeDocument | None:
    return KnowledgeDocument.objects.filter(source=SOURCE, bucket="", key=str(document_id)).first()


def _default_locale() -> str:
    locale = Locale.get_default() if Locale.objects.exists() else None
    return locale.language_code if locale else "en"


def _why_not_indexable(document) -> tuple[str, int | None]:
    """("", site id) when visitors may read ``document``, else (reason, None)."""
    if document is None:
        return "deleted", None
    public, site_id = document_access(document)
    if not public:
        return "private", None
    if site_id == NO_SUCH_SITE:
        return "unroutable", None
    return "", site_id


def _still_indexable(document_id: int) -> Callable[[], str]:
    """Re-read after embedding (READ COMMITTED: a restriction committed meanwhile is seen)."""

    def recheck() -> str:
        document = get_document_model().objects.filter(pk=document_id).first()
        return _why_not_indexable(document)[0]

    return recheck


def _chunks_intact(row: KnowledgeDocument, embedder_id: str) -> bool:
    counts = KnowledgeChunk.objects.filter(document=row).aggregate(
        total=Count("id"), same=Count("id", filter=Q(embedder_id=embedder_id))
    )
    return counts["total"] == counts["same"] == row.chunk_count


def _remove(row: KnowledgeDocument | None, *, reason: str, delete_row: bool) -> SyncOutcome:
    if row is None:
        return SyncOutcome()
    outcome = chunks_remove(source=SourceRef(document=row), reason=reason)
    if delete_row:
        row.delete()
    else:
        KnowledgeDocument.objects.filter(pk=row.pk).update(
            status=reason, status_message="", chunk_count=0, indexed_at=timezone.now(), fingerprint=""
        )
    return outcome


def document_index_sync(
    *, document_id: int, force: bool = False, removal_only: bool = False
) -> DocumentIndexOutcome | None:
    """Bring one library document's chunks in line with its current state (module docstring).

    ``force`` extracts and syncs even when the fingerprint says nothing changed. ``removal_only``
    (the removals queue's re-check): a document that visitors may read again by the time this runs
    is left as it is and ``None`` returned, so that the caller hands it to the indexing queue; the
    removals workers never extract or embed.
    """
    document_id = int(document_id)
    embedder = providers.embedder()
    with source_lock(*_lock_name(document_id)):
        document = get_document_model().objects.filter(pk=document_id).first()
        row = _row(document_id)
        reason, site_id = _why_not_indexable(document)
        if reason:
            removal = _remove(row, reason=reason, delete_row=document is None)
            return DocumentIndexOutcome(
                document_id=document_id,
                status=reason,
                removed=removal.removed,
                stale_outputs=removal.stale_outputs,
            )
        if removal_only:
            return None
        return _index(document, row, site_id=site_id, embedder=embedder, force=force)


def _read(document, max_bytes: int) -> tuple[bytes | None, str, str]:
    """The file's bytes, or ``None`` with a status and message (too large, missing)."""
    try:
        size = document.file.size
    except (OSError, ValueError) as err:
        return None, "missing file", f"missing file: {err}"[:500]
    if size > max_bytes:
        return None, "too large", f"too large: {size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB"
    try:
        with document.open_file() as handle:
            data = handle.read(max_bytes + 1)
    except (OSError, ValueError) as err:
        return None, "missing file", f"missing file: {err}"[:500]
    if len(data) > max_bytes:  # the storage reported a smaller size than it holds
        return None, "too large", f"too large: more than {max_bytes / 1e6:.1f} MB"
    return data, "", ""


def _index(document, row, *, site_id, embedder, force) -> DocumentIndexOutcome:
    max_bytes = documents_max_bytes()
    title = (document.title or document.filename)[:255]
    url = document.url
    locale = _default_locale()
    data, failure, message = _read(document, max_bytes)
    if data is None:
        return _record_failure(document, row, status=failure, message=message, site_id=site_id, locale=locale)
    digest = hashlib.sha256(data).hexdigest()
    settings_key = index_settings_key(embedder=embedder)
    fingerprint = index_fingerprint(
        settings_key=settings_key,
        parts=["indexed", DOCUMENT_INDEX_VERSION, EXTRACTOR_VERSION, digest, title, url, site_id, locale],
    )
    if (
        not force
        and row is not None
        and row.fingerprint == fingerprint
        and row.status not in READ_FAILURES
        and _chunks_intact(row, embedder.embedder_id)
    ):
        return DocumentIndexOutcome(
            document_id=document.pk,
            status=row.status,
            skipped=True,
            chunks=row.chunk_count,
            pages=row.page_count,
        )
    extraction = extract_document(
        data, filename=document.filename, content_type=document.content_type, max_bytes=max_bytes
    )
    if not extraction.ok:
        return _record_failure(
            document,
            row,
            status=STATUS_LABELS.get(extraction.status, extraction.status),
            message=extraction.message,
            site_id=site_id,
            locale=locale,
            digest=digest,
            pages=extraction.pages,
        )
    chunks = chunk_segments(
        extraction_segments(extraction), title=title, config=retrieval_settings().chunking_for(embedder)
    )
    if not chunks:
        return _record_failure(
            document, row, status="no extractable text", message="no extractable text", site_id=site_id,
            locale=locale, digest=digest, pages=extraction.pages,
        )  # fmt: skip
    row, _ = KnowledgeDocument.objects.update_or_create(
        source=SOURCE,
        bucket="",
        key=str(document.pk),
        defaults={
            "content_hash": digest,
            "content_type": extraction.kind,
            "size": len(data),
            "title": title,
            "url": url,
            "site_id": site_id,
            "locale": locale,
            "last_modified": getattr(document, "created_at", None),
            "page_count": extraction.pages,
        },
    )
    outcome = chunks_sync(
        source=SourceRef(document=row, site_id=site_id, locale=locale, title=title, url=url),
        chunks=chunks,
        embedder=embedder,
        recheck=_still_indexable(document.pk),
    )
    status = outcome.withdrawn or "indexed"
    KnowledgeDocument.objects.filter(pk=row.pk).update(
        status=status,
        status_message="",
        chunk_count=0 if outcome.withdrawn else outcome.chunks,
        indexed_at=timezone.now(),
        fingerprint="" if outcome.withdrawn else fingerprint,
    )
    logger.info(
        "document %s indexed: %s, %d pages, %d chunks (%d embedded, %d reused, %d removed)",
        document.pk, status, extraction.pages, outcome.chunks, outcome.embedded, outcome.reused, outcome.removed,
    )  # fmt: skip
    return DocumentIndexOutcome(
        document_id=document.pk,
        status=status,
        chunks=0 if outcome.withdrawn else outcome.chunks,
        embedded=outcome.embedded,
        reused=outcome.reused,
        removed=outcome.removed,
        stale_outputs=outcome.stale_outputs,
        pages=extraction.pages,
    )


def _record_failure(
    document, row, *, status: str, message: str, site_id, locale, digest: str = "", pages: int = 0
) -> DocumentIndexOutcome:
    """The file could not be read: say so, and keep what the last readable version indexed.

    The row's site and locale are refreshed (they come from the collection, not the file) only on a
    first failure; a row with chunks keeps the metadata its chunks were stored with.
    """
    logger.warning("document %s not indexed: %s", document.pk, message)
    if row is None:
        row = KnowledgeDocument.objects.create(
            source=SOURCE,
            bucket="",
            key=str(document.pk),
            title=(document.title or document.filename)[:255],
            url=document.url,
            site_id=site_id,
            locale=locale,
            content_hash=digest,
            page_count=pages,
        )
    KnowledgeDocument.objects.filter(pk=row.pk).update(
        status=status, status_message=message[:2000], indexed_at=timezone.now(), fingerprint=""
    )
    kept = KnowledgeChunk.objects.filter(document=row).count()
    return DocumentIndexOutcome(
        document_id=document.pk, status=status, message=message, chunks=kept, pages=pages
    )


def documents_unindex_now(*, document_ids: Iterable[int], reason: str) -> int:
    """Remove documents' chunks in the caller's transaction (their collection just became private,
    they moved into a private one, or were deleted), under each one's source lock, only *tried*: a
    document being embedded right now is left to that run's re-check before it writes, and to the
    task the receivers queue after commit. Retrieval's query-time check hides them meanwhile."""
    removed = 0
    for document_id in document_ids:
        with source_lock(*_lock_name(document_id), wait=False) as locked:
            if not locked:
                logger.info(
                    "document %s is being indexed; its removal (%s) is left to the queued task",
                    document_id,
                    reason,
                )
                continue
            removed += _remove(_row(document_id), reason=reason, delete_row=False).removed
    return removed


@dataclass(kw_only=True)
class DocumentsIndexOutcome:
    documents: int = 0
    skipped: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    not_indexed: dict[int, str] = field(default_factory=dict)  # id -> status message (read failures)
    failed: dict[int, str] = field(default_factory=dict)  # id -> error (unexpected)


def documents_to_reindex() -> list[int]:
    """Every library document, plus ids that still have an index row but no document (clean-up)."""
    ids = set(get_document_model().objects.values_list("pk", flat=True))
    ids |= {int(key) for key in KnowledgeDocument.objects.filter(source=SOURCE).values_list("key", flat=True)}
    return sorted(ids)


def documents_index_sync(
    *,
    document_ids: Iterable[int],
    force: bool = False,
    progress: Callable[[int, DocumentsIndexOutcome], None] | None = None,
) -> DocumentsIndexOutcome:
    """Index each document in turn; one that fails is reported, never stops the others."""
    totals = DocumentsIndexOutcome()
    for document_id in document_ids:
        try:
            outcome = document_index_sync(document_id=document_id, force=force)
        except Exception as err:  # keep going: one broken document must not stop a full re-index
            logger.exception("re-index of document %s failed", document_id)
            totals.failed[int(document_id)] = f"{type(err).__name__}: {err}"
        else:
            totals.skipped += outcome.skipped
            totals.chunks += outcome.chunks
            totals.embedded += outcome.embedded
            totals.reused += outcome.reused
            totals.removed += outcome.removed
            if outcome.status in READ_FAILURES:
                totals.not_indexed[outcome.document_id] = outcome.message or outcome.status
        totals.documents += 1
        if progress is not None:
            progress(totals.documents, totals)
    return totals
