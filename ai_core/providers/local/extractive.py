"""Extractive stand-in for a language model: it answers only by quoting the sources.

Local mode has no language model, so instead of writing prose this provider picks whole sentences
out of the retrieved sources with MiniLM similarity and cites each one. Everything it prints is a
verbatim source sentence, a ``[n]`` citation marker, or the fixed ``NO_ANSWER`` text, which keeps
the site's grounding guarantee true without a model and makes output deterministic for tests.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ai_core.providers.base import (
    EmbeddingProvider,
    GenerationRequest,
    GenerationResult,
    Source,
    StreamEvent,
    Usage,
)
from ai_core.providers.errors import ProviderBadRequest
from ai_core.providers.local.text import count_words, split_sentences

LABEL = "local mode, extractive, no language model"
MODEL = "extractive-minilm"
NO_ANSWER = "I don't know: the available sources don't answer this question."

# Words too common to count as lexical evidence that a sentence addresses the question.
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its may me my of on or "
    "our so than that the their them there these this to was we were what when where which who why "
    "will with would you your".split()
)
_TOKEN = re.compile(r"\w+")
# A near-copy of an already chosen sentence (overlapping chunks repeat text) adds nothing.
_DUPLICATE_COSINE = 0.95
# Roughly 0.75 words per model token, the usual rule of thumb for English.
_WORDS_PER_TOKEN = 0.75
_MIN_WORDS = 3


@dataclass(frozen=True)
class _Sentence:
    source_number: int
    position: int  # order within its source, for document-order output
    text: str


class LocalExtractiveProvider:
    """``GenerationProvider`` that quotes source sentences ranked by embedding similarity."""

    label = LABEL
    model = MODEL

    def __init__(
        self,
        *,
        alias: str = "local",
        embedder: EmbeddingProvider | None = None,
        min_similarity: float = 0.3,
        lexical_weight: float = 0.15,
        max_answer_sentences: int = 4,
        relative_cutoff: float = 0.25,
        min_summary_sentences: int = 3,
        max_summary_sentences: int = 5,
        fallback_sentences: int = 3,
        embedder_threads: int | None = None,
    ) -> None:
        self.alias = alias
        self.min_similarity = min_similarity
        self.lexical_weight = lexical_weight
        self.max_answer_sentences = max_answer_sentences
        self.relative_cutoff = relative_cutoff
        self.min_summary_sentences = min_summary_sentences
        self.max_summary_sentences = max_summary_sentences
        self.fallback_sentences = fallback_sentences
        self._embedder = embedder
        self._embedder_threads = embedder_threads
        self._embedder_lock = threading.Lock()

    @property
    def embedder(self) -> EmbeddingProvider:
        """Built on first use so constructing the provider (e.g. at settings load) costs nothing."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    from ai_core.providers.local.minilm import LocalMiniLMEmbedder

                    self._embedder = LocalMiniLMEmbedder(alias=self.alias, threads=self._embedder_threads)
        return self._embedder

    def generate(self, request: GenerationRequest) -> GenerationResult:
        started = time.perf_counter()
        pieces, input_tokens = self._compose(request)
        return self._result("".join(pieces), input_tokens, started)

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        """Compose first, then replay sentence by sentence: the deltas join to exactly ``result.text``."""
        started = time.perf_counter()
        pieces, input_tokens = self._compose(request)
        for piece in pieces:
            yield StreamEvent(kind="delta", text=piece)
        yield StreamEvent(kind="done", result=self._result("".join(pieces), input_tokens, started))

    def _result(self, text: str, input_tokens: int, started: float) -> GenerationResult:
        return GenerationResult(
            text=text,
            provider=self.alias,
            model=self.model,
            usage=Usage(input_tokens=input_tokens, output_tokens=count_words(text)),
            stop_reason="end_turn",
            latency_ms=round((time.perf_counter() - started) * 1000),
        )

    def _compose(self, request: GenerationRequest) -> tuple[list[str], int]:
        """Return the output pieces (one per sentence, bullet or label) and the tokens read."""
        if request.task == "answer":
            return self._answer(request)
        if request.task == "summary":
            return self._central(request, bullets=True)
        if request.task == "classify":
            return self._classify(request)
        return self._central(request, bullets=False)

    # -- tasks -------------------------------------------------------------------------------------

    def _answer(self, request: GenerationRequest) -> tuple[list[str], int]:
        question = request.metadata.get("question") or _last_user_text(request)
        sentences = _sentences(request.sources)
        if not sentences or not question.strip():
            return [NO_ANSWER], 0
        vectors, tokens = self._embed([question] + [s.text for s in sentences])
        scores = vectors[1:] @ vectors[0] + self.lexical_weight * _overlap(question, sentences)
        ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
        best = max((scores[i] for i in ranked if _is_substantive(sentences[i])), default=0.0)
        floor = max(self.min_similarity, best - self.relative_cutoff)
        candidates = [i for i in ranked if scores[i] >= floor and _is_substantive(sentences[i])]
        chosen = self._pick(candidates, sentences, vectors[1:], self.max_answer_sentences, request.max_tokens)
        if not chosen:
            return [NO_ANSWER], tokens
        return _render(sentences, chosen, bullets=False), tokens

    def _central(self, request: GenerationRequest, *, bullets: bool) -> tuple[list[str], int]:
        sentences = _sentences(request.sources)
        if not sentences:
            return [NO_ANSWER], 0
        vectors, tokens = self._embed([s.text for s in sentences])
        # Centrality: similarity to the normalised centroid, i.e. what the text is mostly about.
        centroid = _normalise(vectors.mean(axis=0))
        scores = vectors @ centroid
        ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
        substantive = [i for i in ranked if _is_substantive(sentences[i])] or ranked
        if bullets:
            # About one bullet per four sentences, so a short page is not padded out to five.
            wanted = -(-len(substantive) // 4)
            limit = min(max(wanted, self.min_summary_sentences), self.max_summary_sentences)
        else:
            limit = self.fallback_sentences
        chosen = self._pick(substantive, sentences, vectors, limit, request.max_tokens)
        return _render(sentences, chosen, bullets=bullets), tokens

    def _classify(self, request: GenerationRequest) -> tuple[list[str], int]:
        labels = [label for label in request.labels if label.strip()]
        if not labels:
            raise ProviderBadRequest("classify needs at least one label", provider=self.alias, model=MODEL)
        texts = [s.text for s in _sentences(request.sources)] or split_sentences(_last_user_text(request))
        if not texts:
            return [labels[0]], 0
        vectors, tokens = self._embed(list(labels) + texts)
        # Sentence by sentence then averaged, so long inputs are not cut at 256 word pieces.
        centroid = _normalise(vectors[len(labels) :].mean(axis=0))
        scores = vectors[: len(labels)] @ centroid
        return [labels[int(np.argmax(scores))]], tokens

    # -- helpers -----------------------------------------------------------------------------------

    def _embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        result = self.embedder.embed(texts)
        vectors = np.asarray(result.vectors, dtype=np.float32).reshape(len(texts), -1)
        # Normalise again: another EmbeddingProvider passed in need not return unit vectors.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12), result.usage.input_tokens

    def _pick(
        self,
        ranked: Sequence[int],
        sentences: Sequence[_Sentence],
        vectors: np.ndarray,
        limit: int,
        max_tokens: int,
    ) -> list[int]:
        """Take sentences best first, skipping near-duplicates, within ``limit`` and a word budget.

        The best sentence is always kept even if it alone exceeds the budget: cutting it would
        break the promise that every sentence is quoted verbatim.
        """
        budget = max_tokens * _WORDS_PER_TOKEN if max_tokens > 0 else float("inf")
        chosen: list[int] = []
        used = 0
        for i in ranked:
            if len(chosen) >= limit:
                break
            if any(float(vectors[i] @ vectors[j]) >= _DUPLICATE_COSINE for j in chosen):
                continue
            words = count_words(sentences[i].text)
            if chosen and used + words > budget:
                continue
            chosen.append(i)
            used += words
        return chosen


def _last_user_text(request: GenerationRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user":
            return message.content
    return ""


def _sentences(sources: Sequence[Source]) -> list[_Sentence]:
    return [
        _Sentence(source_number=source.number, position=position, text=text)
        for source in sources
        for position, text in enumerate(split_sentences(source.text))
    ]


def _content_words(text: str) -> set[str]:
    return {_stem(w) for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1}


def _stem(word: str) -> str:
    """Crude suffix stripping so "Saturday" meets "Saturdays" and "refund" meets "refunded"."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _is_substantive(sentence: _Sentence) -> bool:
    # Headings and fragments ("Refund policy.", "Yes.") score well on topic but answer nothing.
    return len(_TOKEN.findall(sentence.text)) >= _MIN_WORDS


def _overlap(question: str, sentences: Sequence[_Sentence]) -> np.ndarray:
    """Share of the question's content words that each sentence contains (0..1).

    Embeddings blur rare exact terms (a form number, a product name); this nudges sentences that
    contain them ahead of merely topical ones.
    """
    wanted = _content_words(question)
    if not wanted:
        return np.zeros(len(sentences), dtype=np.float32)
    return np.array([len(wanted & _content_words(s.text)) / len(wanted) for s in sentences], dtype=np.float32)


def _normalise(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def _render(sentences: Sequence[_Sentence], chosen: Sequence[int], *, bullets: bool) -> list[str]:
    ordered = sorted(chosen, key=lambda i: (sentences[i].source_number, sentences[i].position, i))
    if bullets:
        lines = [f"- {sentences[i].text} [{sentences[i].source_number}]" for i in ordered]
        return [line if n == 0 else "\n" + line for n, line in enumerate(lines)]
    parts = [f"{sentences[i].text} [{sentences[i].source_number}]" for i in ordered]
    return [part if n == 0 else " " + part for n, part in enumerate(parts)]
