"""Weighted reciprocal-rank fusion whose scores mean something in absolute terms.

Pure Python (no Django). Plain RRF orders well but its scores are rank-only: the best chunk for
"how do I bake sourdough?" on an accounting help site scores exactly as high as the best chunk
for a question the site answers word for word, so a minimum score could never say "I don't
know". Here each list's RRF contribution is scaled by that list's own absolute evidence for the
chunk (cosine similarity for the vector list, the share of the query's terms the chunk contains
for the full-text list), and the sum is normalised so that 1.0 means "ranked first in every list
with perfect evidence". Ordering stays RRF-like; ``min_score`` becomes a relevance floor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(kw_only=True, frozen=True)
class Ranked:
    """One candidate from one retriever: its id and its evidence in [0, 1]. Order = rank."""

    id: int
    evidence: float


@dataclass(kw_only=True)
class Fused:
    id: int
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, float] = field(default_factory=dict)


def weighted_rrf(
    lists: Mapping[str, Sequence[Ranked]], *, weights: Mapping[str, float], k: int = 60
) -> list[Fused]:
    """Fuse ranked lists; returns every candidate, best first, with a score in [0, 1]."""
    if k < 0:
        raise ValueError("RRF k must be >= 0")
    total_weight = sum(max(0.0, weights.get(name, 0.0)) for name in lists)
    if total_weight <= 0:
        return []
    fused: dict[int, Fused] = {}
    for name, ranked in lists.items():
        weight = max(0.0, weights.get(name, 0.0))
        for rank, item in enumerate(ranked, start=1):
            entry = fused.setdefault(item.id, Fused(id=item.id, score=0.0))
            if name in entry.ranks:  # a retriever listing an id twice: keep its best rank
                continue
            evidence = min(1.0, max(0.0, item.evidence))
            entry.ranks[name] = rank
            entry.evidence[name] = evidence
            entry.score += weight * evidence * (k + 1) / (k + rank)
    for entry in fused.values():
        entry.score /= total_weight
    return sorted(fused.values(), key=lambda f: (-f.score, min(f.ranks.values()), f.id))


def select(fused: Sequence[Fused], *, top_k: int, min_score: float) -> list[Fused]:
    """Keep the best ``top_k`` at or above ``min_score``; an empty list is a valid answer."""
    return [f for f in fused if f.score >= min_score][: max(0, top_k)]


@dataclass(kw_only=True, frozen=True)
class Candidate:
    """A vector-search candidate with the query terms (stemmed lexemes) its text contains."""

    id: int
    similarity: float
    terms: frozenset[str] = frozenset()


def term_weights(
    terms: Sequence[str],
    *,
    frequencies: Mapping[str, float],
    rare_frequency: float | None = None,
    max_frequency: float = 1.0,
) -> dict[str, float]:
    """Inverse document frequency per query term, from each term's share of chunks containing it.

    A question's own words are not equally telling: "package" in a question to a packaging FAQ is
    in half the chunks and says nothing, "apt-cacher" is in two and says nearly everything. Terms
    in more than ``max_frequency`` of the chunks weigh nothing (an IDF cut-off) unless every term
    is that common. A term missing from ``frequencies`` is rare: its share is ``rare_frequency``
    (statistics list only common terms, down to some share), else the smallest share known, else
    one chunk in a thousand.
    """
    known = [f for f in frequencies.values() if f > 0]
    rare = rare_frequency if rare_frequency is not None else min(known) if known else 0.001
    weights = {}
    for term in dict.fromkeys(terms):
        share = min(1.0, max(frequencies.get(term, rare), 1e-6))
        weights[term] = math.log(1.0 + (1.0 - share + 1e-3) / (share + 1e-3))
    kept = {t: w for t, w in weights.items() if frequencies.get(t, rare) <= max_frequency}
    return kept or weights


def lexical_rescore(
    candidates: Sequence[Candidate],
    *,
    weights: Mapping[str, float],
    vector_weight: float,
    text_weight: float,
    neighbours: Mapping[int, float] | None = None,
    neighbour_weight: float = 0.0,
) -> list[Fused]:
    """Re-rank vector candidates by similarity plus the weighted share of query terms they contain.

    Lexical evidence is computed for the vector search's own candidates only, rather than by a
    second full-text search over the whole index: the unrestricted OR query brought in chunks
    that share a common word with the question and nothing else, and on third-party FAQs the
    fusion lost to the vector list alone (docs/BENCHMARKS.md). A rare query term in a candidate
    that is already semantically close is strong evidence; the same term in an unrelated chunk
    never gets a say. The score is the weighted mean of cosine similarity and term coverage, so
    1.0 still means "identical meaning, every term present" and ``min_score`` stays a floor.

    ``neighbours`` (chunk id -> cosine of the question to the closest of the chunks just before
    and after it in its page or document) changes the order, never the scores: candidates are
    ranked as if their cosine were ``(1 - neighbour_weight) × own + neighbour_weight ×
    neighbour``, a chunk with no neighbour (a page's only chunk) counting as its own. A passage
    whose page around it is about something else (a FAQ section that mentions the question's
    topic in passing) drops below one whose page is about it; on the third-party FAQ sets this
    ordered better, while blending it into the score lowered the best chunk of answerable
    questions under the floor (docs/BENCHMARKS.md, "Rescoring variants"). So ``Fused.score``
    stays the chunk's own evidence, which is what ``min_score`` and a reader see, and the list is
    in ranking order, not score order.
    """
    vector_weight, text_weight = max(0.0, vector_weight), max(0.0, text_weight)
    total = vector_weight + text_weight
    if total <= 0:
        return []
    weight_sum = sum(weights.values())
    blend = min(1.0, max(0.0, neighbour_weight)) if neighbours else 0.0
    fused, order = [], {}
    for rank, candidate in enumerate(candidates, start=1):
        similarity = min(1.0, max(0.0, candidate.similarity))
        coverage = (
            sum(w for term, w in weights.items() if term in candidate.terms) / weight_sum
            if weight_sum
            else 0.0
        )
        entry = Fused(
            id=candidate.id,
            score=(vector_weight * similarity + text_weight * coverage) / total,
            ranks={"vector": rank},
            # No "text" evidence when no term matched, as when the full-text list missed it.
            evidence={"vector": similarity} | ({"text": round(coverage, 4)} if coverage else {}),
        )
        order[candidate.id] = entry.score
        if blend and candidate.id in neighbours:
            near = min(1.0, max(0.0, neighbours[candidate.id]))
            entry.evidence["neighbour"] = round(near, 4)
            order[candidate.id] += vector_weight * blend * (near - similarity) / total
        fused.append(entry)
    return sorted(fused, key=lambda f: (-order[f.id], f.ranks["vector"], f.id))
