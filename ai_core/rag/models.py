"""The knowledge store: chunks with vectors and tsvectors, their sources, and output provenance.

Pages are referenced by plain integer ids, not foreign keys to ``wagtailcore.Page``: the engine
stays Wagtail-free, and a chunk is only ever removed through ``chunks_remove``/``chunks_sync``,
which mark the outputs that cited it stale. A cascading FK delete would remove chunks silently,
behind the back of freshness tracking.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from pgvector.django import VectorField

from .documents import page_of_block_ids

# Vector sizes with their own HNSW index (all-MiniLM-L6-v2, text-embedding-3-small), created by
# RunSQL as partial expression indexes: ``(embedding::halfvec(N)) halfvec_cosine_ops WHERE
# dimensions = N`` (migration 0003; 0001 made them over ``vector(N)``). Another size still works,
# by exact scan, until a migration adds its index.
INDEXED_DIMENSIONS = (384, 1536)
# The indexes hold float16 copies: half the size of float32 ones at the same recall
# (docs/BENCHMARKS.md). The column keeps float32, and queries score at full precision.
HNSW_INDEX_TYPE = "halfvec"
TS_CONFIG = "english"


class KnowledgeDocument(models.Model):
    """A source that is not a page: an object in an S3 bucket, or a file of the site's document
    library (``source="wagtail"``, ``key`` its id: the content app owns those rows)."""

    class Source(models.TextChoices):
        S3 = "s3", "S3"
        WAGTAIL = "wagtail", "Document library"

    source = models.CharField(max_length=10, choices=Source.choices, default=Source.S3)
    bucket = models.CharField(max_length=255)
    key = models.CharField(max_length=1024)
    etag = models.CharField(max_length=200, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    title = models.CharField(max_length=255)
    url = models.CharField(max_length=2048, help_text="Where a citation of this document links to.")
    # None: shared by every site.
    site_id = models.PositiveIntegerField(null=True, blank=True)
    locale = models.CharField(max_length=20, default="en")
    last_modified = models.DateTimeField(null=True, blank=True)
    indexed_at = models.DateTimeField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    # What the last run made of the file: "indexed", "empty", or why it holds no (new) chunks:
    # "encrypted", "no extractable text", "unreadable", "too large", "unsupported", "private".
    # A file that failed to read keeps the chunks of the version indexed before it.
    status = models.CharField(max_length=40, default="indexed")
    status_message = models.TextField(blank=True)
    page_count = models.PositiveIntegerField(default=0)
    # As ``PageIndexState.fingerprint``: a re-index skips the document while it matches.
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "bucket", "key"], name="rag_document_unique_object")
        ]

    def __str__(self) -> str:
        return f"{self.source}://{self.bucket}/{self.key}"


class KnowledgeChunk(models.Model):
    """One retrievable passage of a live, public page (or of a document) with its embedding.

    Only content visitors may see is ever stored: drafts are never indexed (the indexer reads the
    live page) and view-restricted pages have their chunks removed, so no query path, present or
    future, can leak them.
    """

    page_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    page_revision_id = models.PositiveIntegerField(null=True, blank=True)
    document = models.ForeignKey(
        KnowledgeDocument, null=True, blank=True, on_delete=models.CASCADE, related_name="chunks"
    )
    position = models.PositiveIntegerField()
    block_ids = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    site_id = models.PositiveIntegerField(null=True, blank=True)
    locale = models.CharField(max_length=20)
    title = models.CharField(max_length=255)
    url = models.CharField(max_length=2048, blank=True, help_text="Page or document URL, without anchor.")
    # "Section > Subsection": text rather than an array so the generated tsvector can index it
    # (array_to_string is not immutable, so PostgreSQL refuses it in a generated column).
    heading_path = models.CharField(max_length=1000, blank=True)
    text = models.TextField()
    content_hash = models.CharField(max_length=64)
    token_estimate = models.PositiveIntegerField(default=0)
    embedder_id = models.CharField(max_length=100)
    dimensions = models.PositiveSmallIntegerField()
    embedding = VectorField()
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config=TS_CONFIG)
        + SearchVector("heading_path", weight="B", config=TS_CONFIG)
        + SearchVector("text", weight="C", config=TS_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(page_id__isnull=False, document__isnull=True)
                | Q(page_id__isnull=True, document__isnull=False),
                name="rag_chunk_one_source",
            ),
            # Deferred, so re-numbering kept chunks inside one transaction cannot trip over itself,
            # while two overlapping index runs still cannot leave duplicate positions behind.
            models.UniqueConstraint(
                fields=["page_id", "position"],
                name="rag_chunk_unique_page_position",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.UniqueConstraint(
                fields=["document", "position"],
                name="rag_chunk_unique_document_position",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="rag_chunk_search_gin"),
            models.Index(fields=["embedder_id", "content_hash"], name="rag_chunk_embedder_hash"),
            # A question's site and locale (``scopes``). A scope too small for its own HNSW index
            # (under rag_scope_indexes' --min-rows) is then searched exactly over its few rows,
            # instead of by a scan of the whole table (migration 0008).
            models.Index(fields=["site_id", "locale"], name="rag_chunk_site_locale"),
        ]

    def __str__(self) -> str:
        where = f"page {self.page_id}" if self.page_id else f"document {self.document_id}"
        return f"chunk {self.pk} ({where} #{self.position})"

    @property
    def page(self) -> int | None:
        """The PDF page a document chunk's text is on (kept in its block ids), else ``None``."""
        return None if self.page_id else page_of_block_ids(self.block_ids)

    @property
    def anchor_url(self) -> str:
        """Link to the block the chunk starts at: ``page-url#block-<uuid>``, or for a PDF's
        chunk ``document-url#page=N``, which browsers' PDF viewers open at that page."""
        if self.page_id:
            block = next((b for b in self.block_ids if b), "")
            return f"{self.url}#block-{block}" if block else self.url
        page = self.page
        return f"{self.url}#page={page}" if page and self.url else self.url


class PageIndexState(models.Model):
    """When and how a page was last indexed; the admin's index status and ``reindex --since`` read it."""

    page_id = models.PositiveIntegerField(primary_key=True)
    page_revision_id = models.PositiveIntegerField(null=True, blank=True)
    embedder_id = models.CharField(max_length=100, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    embedded = models.PositiveIntegerField(default=0)
    reused = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    indexed_at = models.DateTimeField(null=True, blank=True)
    # Why the page has no chunks, when it has none: "unpublished", "private", "deleted", "empty".
    status = models.CharField(max_length=20, default="indexed")
    # A hash of everything the last run's result was made from (revision, content, title, URL,
    # site, locale, visibility, embedder, chunker): a re-index skips the page while it matches.
    # Empty: unknown (an older row, or chunks removed outside a run), so the next run does the work.
    fingerprint = models.CharField(max_length=64, blank=True)
    # Documents the page links ("<source>:<key>", e.g. "wagtail:12"): a question asked on the page
    # searches them with it, and its summary may cite them. Resolved at query time, so a document
    # indexed after the page still counts.
    linked_documents = ArrayField(models.CharField(max_length=300), default=list, blank=True)

    def __str__(self) -> str:
        return f"page {self.page_id}: {self.chunk_count} chunks ({self.status})"


class OutputProvenance(models.Model):
    """What an AI output was built from, and whether that has changed since.

    Kept beside ``ai_core.AIRequest`` rather than as columns on it, so this app owns its schema.
    ``chunk_ids`` carries a GIN index: marking outputs stale is one ``&&`` query over the removed
    chunk ids, however many outputs exist.
    """

    request = models.OneToOneField(
        "ai_core.AIRequest", primary_key=True, on_delete=models.CASCADE, related_name="provenance"
    )
    chunk_ids = ArrayField(models.BigIntegerField(), default=list)
    page_ids = ArrayField(models.PositiveIntegerField(), default=list)
    page_revision_ids = ArrayField(models.PositiveIntegerField(), default=list)
    document_ids = ArrayField(models.BigIntegerField(), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    stale_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stale_reason = models.CharField(max_length=200, blank=True)
    regenerated_by = models.ForeignKey(
        "ai_core.AIRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="regenerates"
    )

    class Meta:
        indexes = [
            GinIndex(fields=["chunk_ids"], name="rag_provenance_chunks_gin"),
            GinIndex(fields=["page_ids"], name="rag_provenance_pages_gin"),
        ]

    def __str__(self) -> str:
        return f"provenance of {self.request_id}{' (stale)' if self.stale_at else ''}"

    @property
    def is_stale(self) -> bool:
        return self.stale_at is not None
