"""A fake embedder, swapped in through AI_CORE settings (not by patching), as a real backend would be.

Hashed bag of words: texts sharing words get similar vectors, so ranking tests mean something,
and it is instant and deterministic. It counts calls and texts, which is how the tests prove that
an unchanged page costs no embedding call.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

from ai_core.providers.base import EmbeddingResult, Usage

STOPWORDS = frozenset(
    "a an the and or of to in on for is are be by with it its this that do does how what when can i you we our your "
    "my me at as if from".split()
)


def words(text: str) -> list[str]:
    tokens = [t.rstrip("s") if len(t) > 3 else t for t in re.findall(r"[a-z0-9]+", text.lower())]
    return [t for t in tokens if t not in STOPWORDS]


class HashEmbedder:
    model = "fake-hash-bow"
    max_input_tokens = 256
    calls: list[list[str]] = []  # class-level: every instance the registry builds shares it

    def __init__(self, *, alias: str = "local", dimensions: int = 384) -> None:
        self.alias = alias
        self.dimensions = dimensions

    @property
    def embedder_id(self) -> str:
        return f"{self.alias}:{self.model}:{self.dimensions}"

    def vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dimensions
        for word in words(text):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vec[int.from_bytes(digest[:4], "big") % self.dimensions] += 1.0 if digest[4] % 2 else -1.0
        norm = math.sqrt(sum(x * x for x in vec)) or 1.0
        return [x / norm for x in vec]

    def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        HashEmbedder.calls.append(list(texts))
        return EmbeddingResult(
            vectors=[self.vector(t) for t in texts],
            provider=self.alias,
            model=self.model,
            usage=Usage(input_tokens=sum(len(words(t)) for t in texts)),
        )

    @classmethod
    def texts_embedded(cls, *, documents_only: bool = True) -> int:
        """Texts embedded so far; query embeddings (single short texts at retrieval) included."""
        return sum(len(c) for c in cls.calls)


class SlowHashEmbedder(HashEmbedder):
    """Takes its time, so two index runs for one page are sure to overlap (lock tests)."""

    delay = 0.6

    def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        import time

        time.sleep(self.delay)
        return super().embed(texts)
