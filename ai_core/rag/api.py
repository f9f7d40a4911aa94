"""The knowledge store's public interface for other apps: chunking, document parsing, indexing,
retrieval, freshness and S3 ingest, from one module. It spans eight modules inside ``ai_core.rag``;
ai_core's own code imports those directly, other apps import from here."""

from ai_core.rag.chunking import Chunk, Segment, chunk_segments
from ai_core.rag.conf import documents_max_bytes, retrieval_settings
from ai_core.rag.documents import DocBlock, DocumentParseError, html_to_text, page_of_block_ids, parse_html
from ai_core.rag.extract import (
    EXTRACTOR_VERSION,
    Extraction,
    document_kind,
    extract_document,
    extraction_segments,
)
from ai_core.rag.extract import STATUSES as EXTRACTION_STATUSES
from ai_core.rag.s3 import S3IngestBusy, S3IngestError, S3IngestRefused, s3_ingest, s3_ingest_check
from ai_core.rag.selectors import IndexEmbedderMismatchError, PageIndexStatus, page_index_status, retrieve
from ai_core.rag.services.freshness import output_is_stale, provenance_link_regenerated
from ai_core.rag.services.indexing import (
    ChunkSnapshot,
    SourceRef,
    SyncOutcome,
    chunks_remove,
    chunks_sync,
    index_fingerprint,
    index_settings_key,
    pages_index_current,
    source_lock,
)
from ai_core.rag.signals import chunks_replaced, page_indexed

__all__ = [
    "Chunk",
    "ChunkSnapshot",
    "DocBlock",
    "DocumentParseError",
    "EXTRACTION_STATUSES",
    "EXTRACTOR_VERSION",
    "Extraction",
    "IndexEmbedderMismatchError",
    "PageIndexStatus",
    "S3IngestBusy",
    "S3IngestError",
    "S3IngestRefused",
    "Segment",
    "SourceRef",
    "SyncOutcome",
    "chunk_segments",
    "chunks_remove",
    "chunks_replaced",
    "chunks_sync",
    "document_kind",
    "documents_max_bytes",
    "extract_document",
    "extraction_segments",
    "html_to_text",
    "index_fingerprint",
    "index_settings_key",
    "output_is_stale",
    "page_index_status",
    "page_indexed",
    "page_of_block_ids",
    "pages_index_current",
    "parse_html",
    "provenance_link_regenerated",
    "retrieval_settings",
    "retrieve",
    "s3_ingest",
    "s3_ingest_check",
    "source_lock",
]
