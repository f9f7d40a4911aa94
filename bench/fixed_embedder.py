"""Stand-ins that let ``bench/rag_retrieval.py`` time the real ``retrieve()`` on synthetic vectors.

Swapped in through ``AI_CORE`` settings, as the test fakes are. ``FixedEmbedder`` answers each
question with the vector the bench registered for it (the bench's questions have no text a real
model could embed into its synthetic space); ``allow_all_pages`` is a page access check for
chunks whose pages do not exist (the real check costs one query, timed in the HTTP benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence

from ai_core.providers.base import EmbeddingResult, Usage


class FixedEmbedder:
    model = "synthetic"
    max_input_tokens = 256
    vectors: dict[str, list[float]] = {}  # class-level: filled by the bench before it asks

    def __init__(self, *, alias: str = "bench", dimensions: int = 384) -> None:
        self.alias = alias
        self.dimensions = dimensions

    @property
    def embedder_id(self) -> str:
        return f"{self.alias}:{self.model}:{self.dimensions}"

    def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        return EmbeddingResult(
            vectors=[FixedEmbedder.vectors[t] for t in texts],
            provider=self.alias,
            model=self.model,
            usage=Usage(input_tokens=len(texts)),
        )


def allow_all_pages(*, page_ids, site_id) -> set[int]:
    return set(page_ids)
