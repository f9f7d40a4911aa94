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
