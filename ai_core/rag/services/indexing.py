"""Writing chunks: diff against what is stored, embed only what changed, write in bulk.

Callers (the page indexer in ``content.indexing``, the S3 ingester) hold ``source_lock`` while
they read their source *and* call ``chunks_sync``, so two runs for one page serialise and the
later one always sees the newer content. Everything happens in that one transaction: readers see
the old chunk set or the new one, never a mix, and never duplicates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Q

from ai_core import providers
from ai_core.models import LLMUsageLog
from ai_core.providers.base import EmbeddingProvider
from ai_core.services.usage import usage_log_record

from ..chunking import CHUNKER_VERSION, Chunk
from ..conf import retrieval_settings
from ..models import KnowledgeChunk, KnowledgeDocument, PageIndexState
from ..signals import chunks_removed, chunks_replaced
from .freshness import outputs_mark_stale

logger = logging.getLogger(__name__)


@dataclass(kw_only=True, frozen=True)
class SourceRef:
    """What a set of chunks belongs to, and the metadata every one of its chunks carries."""

    page_id: int | None = None
    document: KnowledgeDocument | None = None
    page_revision_id: int | None = None
    site_id: int | None = None
    locale: str = "en"
    title: str = ""
    url: str = ""

    def __post_init__(self) -> None:
        if (self.page_id is None) == (self.document is None):
            raise ValueError("a SourceRef names exactly one of page_id or document")

    @property
    def subject(self) -> tuple[str, str]:
        return (
            ("page", str(self.page_id)) if self.page_id is not None else ("document", str(self.document.pk))
        )

    def chunk_filter(self) -> dict:
        return {"page_id": self.page_id} if self.page_id is not None else {"document": self.document}


@dataclass(kw_only=True, frozen=True)
class ChunkSnapshot:
    """A stored chunk as ``chunks_replaced`` hands it to receivers: enough to show what a cited
    passage said before a publish and what covers the same blocks after it."""

    id: int
    position: int
    block_ids: tuple[str, ...]
    heading_path: str
    text: str
    content_hash: str
    page_revision_id: int | None

    @classmethod
    def of(cls, row: KnowledgeChunk) -> ChunkSnapshot:
        return cls(
            id=row.pk,
            position=row.position,
            block_ids=tuple(row.block_ids),
            heading_path=row.heading_path,
            text=row.text,
            content_hash=row.content_hash,
            page_revision_id=row.page_revision_id,
        )


@dataclass(kw_only=True)
class SyncOutcome:
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    embedding_calls: int = 0
    tokens: int = 0
    stale_outputs: int = 0
    removed_ids: tuple[int, ...] = ()
    # Set when the source stopped being indexable while it was being embedded (made private,
    # unpublished, deleted): nothing was written and every stored chunk was removed instead.
    withdrawn: str = ""


@contextmanager
def source_lock(kind: str, source_id: int | str, *, wait: bool = True) -> Iterator[bool]:
    """One transaction holding a PostgreSQL advisory lock for one page or document.

    A transaction-scoped lock (unlike ``ai_core.locks.advisory_lock``, which lets a duplicate
    step aside) makes a second run *wait*: the second publish of a page must still be indexed,
    after the first, from the content it committed. The lock is released with the transaction,
    also when a worker dies. Inside an outer transaction it is held until that one ends.

    ``wait=False`` only tries, and yields whether it got the lock: an editor's request removing
    chunks must not stall behind an embedding run (the run re-checks before it writes, and a
    removal task queued after commit waits for the lock instead).
    """
    name = f"rag:{kind}:{source_id}"
    with transaction.atomic():
        with connection.cursor() as cursor:
            if not wait:
                cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [name])
                acquired = bool(cursor.fetchone()[0])
            else:
                cursor.execute("SET LOCAL lock_timeout = '120s'")
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])
                acquired = True
        yield acquired


def index_settings_key(*, embedder: EmbeddingProvider) -> str:
    """Everything outside the source itself that decides which chunks and vectors get stored.

    The embedder id already names model and dimensions; the input window and the chunk budget
    are spelled out too, because ``AI_CORE["RETRIEVAL"]["CHUNKING"]`` can change the budget for
    the same embedder, and ``CHUNKER_VERSION`` covers a change of the chunking code itself.
    """
    config = retrieval_settings().chunking_for(embedder)
    return (
        f"chunker={CHUNKER_VERSION};max={config.max_tokens};overlap={config.overlap_tokens};"
        f"header={config.header_tokens};embedder={embedder.embedder_id};dims={embedder.dimensions};"
        f"window={embedder.max_input_tokens}"
    )


def index_fingerprint(*, settings_key: str, parts: Sequence[object]) -> str:
    """One hash of the settings key and a source's own facts (JSON-encoded in order, so a title
    "a|b" and a URL "c" never hash like a title "a" and a URL "b|c")."""
    payload = json.dumps([settings_key, *parts], default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def pages_index_current(*, fingerprints: Mapping[int, str | None], embedder: EmbeddingProvider) -> set[int]:
    """The pages among ``fingerprints`` that a re-index would leave exactly as they are.

    A page is current when its last run recorded this same fingerprint and every chunk it
    recorded is still stored, all made by ``embedder`` (chunks deleted or re-embedded outside a
    run make it need work again). A fingerprint of ``None`` means the caller cannot tell cheaply:
    never current. Two queries whatever the number of pages, which is what lets a re-index of
    unchanged pages run at thousands of pages per second; nothing is written.
    """
    wanted = {page_id: fp for page_id, fp in fingerprints.items() if fp}
    if not wanted:
        return set()
    recorded = {
        page_id: chunk_count
        for page_id, fingerprint, chunk_count in PageIndexState.objects.filter(
            page_id__in=wanted
        ).values_list("page_id", "fingerprint", "chunk_count")
        if fingerprint and fingerprint == wanted[page_id]
    }
    if not recorded:
        return set()
    stored = {
        row["page_id"]: (row["total"], row["same"])
        for row in KnowledgeChunk.objects.filter(page_id__in=recorded)
        .values("page_id")
        .annotate(total=Count("id"), same=Count("id", filter=Q(embedder_id=embedder.embedder_id)))
        .order_by()
    }
    return {
        page_id
        for page_id, chunk_count in recorded.items()
        if stored.get(page_id, (0, 0)) == (chunk_count, chunk_count)
    }


def _embed(
    texts: Sequence[str], *, embedder: EmbeddingProvider, source: SourceRef, outcome: SyncOutcome
) -> list[list[float]]:
    """Embed in batches; one usage row per provider call, naming the page or document."""
    vectors: list[list[float]] = []
    batch = retrieval_settings().embed_batch_size
    subject_type, subject_id = source.subject
    for start in range(0, len(texts), batch):
        started = time.monotonic()
        result = embedder.embed(list(texts[start : start + batch]))
        usage_log_record(
            operation=LLMUsageLog.Operation.EMBEDDING,
            provider=result.provider,
            model=result.model,
            usage=result.usage,
            latency_ms=result.latency_ms or int((time.monotonic() - started) * 1000),
            subject_type=subject_type,
            subject_id=subject_id,
        )
        vectors.extend(result.vectors)
        outcome.embedding_calls += 1
        outcome.tokens += result.usage.input_tokens
    return vectors


def chunks_sync(
    *,
    source: SourceRef,
    chunks: Sequence[Chunk],
    embedder: EmbeddingProvider | None = None,
    recheck: Callable[[], str] | None = None,
) -> SyncOutcome:
    """Make the stored chunks of ``source`` equal ``chunks``, re-embedding only changed text.

    A stored chunk with the same content hash (same embedder) is kept, row and id included, and
    only its position, block ids and metadata are refreshed: outputs that cited it stay fresh.
    Stored chunks with no match are deleted and the outputs citing them marked stale.
    Must run inside ``source_lock``.

    ``recheck`` runs after embedding (which can take seconds) and before anything is written; it
    returns "" if the source may still be indexed, else why not. Then every chunk is removed
    instead: a page made private while it was being embedded is never written back.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("chunks_sync must run inside source_lock()")
    embedder = embedder or providers.embedder()
    outcome = SyncOutcome(chunks=len(chunks))
    existing = list(
        KnowledgeChunk.objects.filter(**source.chunk_filter()).defer("embedding", "search_vector")
    )
    reusable: dict[str, list[KnowledgeChunk]] = defaultdict(list)
    for row in existing:
        if row.embedder_id == embedder.embedder_id:
            reusable[row.content_hash].append(row)

    kept: list[KnowledgeChunk] = []
    fresh: list[Chunk] = []
    for chunk in chunks:
        matches = reusable.get(chunk.content_hash)
        if matches:
            row = matches.pop(0)
            _apply(row, chunk, source)
            kept.append(row)
        else:
            fresh.append(chunk)
    kept_ids = {row.pk for row in kept}
    removed_ids = tuple(row.pk for row in existing if row.pk not in kept_ids)

    vectors = (
        _embed([c.embed_text for c in fresh], embedder=embedder, source=source, outcome=outcome)
        if fresh
        else []
    )
    if recheck is not None and (reason := recheck()):
        removal = chunks_remove(source=source, reason=reason)
        removal.embedding_calls, removal.tokens, removal.withdrawn = (
            outcome.embedding_calls,
            outcome.tokens,
            reason,
        )
        logger.info(
            "rag sync %s %s withdrawn (%s): %d chunks removed", *source.subject, reason, removal.removed
        )
        return removal
    if removed_ids:
        KnowledgeChunk.objects.filter(pk__in=removed_ids).delete()
    if kept:
        KnowledgeChunk.objects.bulk_update(
            kept,
            [
                "position",
                "block_ids",
                "page_revision_id",
                "site_id",
                "locale",
                "title",
                "url",
                "heading_path",
            ],
            batch_size=500,
        )
    created = KnowledgeChunk.objects.bulk_create(
        [
            _apply(
                KnowledgeChunk(
                    text=chunk.text,
                    content_hash=chunk.content_hash,
                    token_estimate=chunk.token_estimate,
                    embedder_id=embedder.embedder_id,
                    dimensions=len(vector),
                    embedding=vector,
                    **source.chunk_filter(),
                ),
                chunk,
                source,
            )
            for chunk, vector in zip(fresh, vectors, strict=True)
        ],
        batch_size=500,
    )
    outcome.embedded, outcome.reused, outcome.removed = len(fresh), len(kept), len(removed_ids)
    outcome.removed_ids = removed_ids
    if removed_ids:
        outcome.stale_outputs = outputs_mark_stale(chunk_ids=removed_ids, reason=_reason(source, "changed"))
        removed_set = set(removed_ids)
        chunks_replaced.send(
            sender=KnowledgeChunk,
            page_id=source.page_id,
            document_id=source.document.pk if source.document is not None else None,
            removed=tuple(ChunkSnapshot.of(row) for row in existing if row.pk in removed_set),
            current=tuple(
                ChunkSnapshot.of(row) for row in sorted([*kept, *created], key=lambda r: r.position)
            ),
        )
    logger.info(
        "rag sync %s %s: %d chunks, %d embedded, %d reused, %d removed, %d outputs marked stale",
        *source.subject,
        outcome.chunks,
        outcome.embedded,
        outcome.reused,
        outcome.removed,
        outcome.stale_outputs,
    )
    return outcome


def chunks_remove(*, source: SourceRef, reason: str) -> SyncOutcome:
    """Delete every chunk of a page or document (unpublished, private, deleted) and mark citers stale."""
    ids = tuple(KnowledgeChunk.objects.filter(**source.chunk_filter()).values_list("pk", flat=True))
    outcome = SyncOutcome(removed=len(ids), removed_ids=ids)
    if ids:
        KnowledgeChunk.objects.filter(pk__in=ids).delete()
        outcome.stale_outputs = outputs_mark_stale(chunk_ids=ids, reason=_reason(source, reason))
        chunks_removed.send(
            sender=KnowledgeChunk,
            page_id=source.page_id,
            document_id=source.document.pk if source.document is not None else None,
            chunk_ids=ids,
            reason=reason,
        )
    return outcome


def _reason(source: SourceRef, what: str) -> str:
    kind, ident = source.subject
    return f"{kind} {ident} {what}"[:200]


def _apply(row: KnowledgeChunk, chunk: Chunk, source: SourceRef) -> KnowledgeChunk:
    row.position = chunk.position
    row.block_ids = list(chunk.block_ids)
    row.heading_path = " > ".join(chunk.heading_path)[:1000]
    row.page_revision_id = source.page_revision_id
    row.site_id = source.site_id
    row.locale = source.locale
    row.title = source.title[:255]
    row.url = source.url
    return row
