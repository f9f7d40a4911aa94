"""Reading a library document's index status (the admin's edit view and bulk action)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument

from .indexing import READ_FAILURES
from .visibility import SOURCE, document_access


@dataclass(kw_only=True, frozen=True)
class DocumentIndexStatus:
    status: str  # "not indexed yet", "indexed", "private", "encrypted", "unreadable", ...
    message: str
    indexed_at: datetime | None
    pages: int
    chunks: int
    # A read failure over an earlier indexed version: those chunks are still searchable.
    kept_previous: bool
    private: bool


def document_index_status(*, document) -> DocumentIndexStatus:
    row = KnowledgeDocument.objects.filter(source=SOURCE, bucket="", key=str(document.pk)).first()
    public, _site = document_access(document)
    if row is None:
        return DocumentIndexStatus(
            status="not indexed yet" if public else "private",
            message="",
            indexed_at=None,
            pages=0,
            chunks=0,
            kept_previous=False,
            private=not public,
        )
    chunks = KnowledgeChunk.objects.filter(document=row).count()
    return DocumentIndexStatus(
        status=row.status,
        message=row.status_message,
        indexed_at=row.indexed_at,
        pages=row.page_count,
        chunks=chunks,
        kept_previous=row.status in READ_FAILURES and chunks > 0,
        private=not public,
    )
