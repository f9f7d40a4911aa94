"""Chunk rows written straight to the table at given vectors, for tests of the vector search's
plans and filters (no pages, no embedding calls)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument


def write_chunks(
    vectors: np.ndarray,
    document_of: Callable[[int], KnowledgeDocument],
    text_of: Callable[[int], str],
    embedder_id: str,
) -> None:
    """Row ``n`` gets ``vectors[n]``, ``text_of(n)`` and the site and locale of ``document_of(n)``."""
    chunks = []
    for n, vector in enumerate(vectors):
        document = document_of(n)
        chunks.append(
            KnowledgeChunk(
                document=document,
                position=n,
                site_id=document.site_id,
                locale=document.locale,
                title="Doc",
                text=text_of(n),
                content_hash=f"{n:064x}",
                embedder_id=embedder_id,
                dimensions=len(vector),
                embedding=vector.tolist(),
            )
        )
    KnowledgeChunk.objects.bulk_create(chunks, batch_size=500)
