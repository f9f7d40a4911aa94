"""Weighted RRF with evidence: ordering, absolute scores, the minimum-score floor."""

from ai_core.rag.fusion import Ranked, select, weighted_rrf


def test_a_chunk_first_in_both_lists_with_full_evidence_scores_one():
    fused = weighted_rrf(
        {"vector": [Ranked(id=1, evidence=1.0)], "text": [Ranked(id=1, evidence=1.0)]},
        weights={"vector": 1.0, "text": 0.5},
    )
    assert fused[0].id == 1 and abs(fused[0].score - 1.0) < 1e-9


def test_agreement_between_retrievers_beats_a_single_list_win():
    fused = weighted_rrf(
        {
            "vector": [Ranked(id=1, evidence=0.6), Ranked(id=2, evidence=0.58)],
            "text": [Ranked(id=2, evidence=0.8), Ranked(id=3, evidence=0.7)],
        },
        weights={"vector": 1.0, "text": 0.8},
    )
    assert [f.id for f in fused][:1] == [2]
    assert fused[0].ranks == {"vector": 2, "text": 1}


def test_weights_decide_between_disagreeing_retrievers():
    lists = {"vector": [Ranked(id=1, evidence=0.7)], "text": [Ranked(id=2, evidence=0.7)]}
    assert weighted_rrf(lists, weights={"vector": 1.0, "text": 0.5})[0].id == 1
    assert weighted_rrf(lists, weights={"vector": 0.5, "text": 1.0})[0].id == 2


def test_weak_evidence_scores_low_even_at_rank_one():
    """Why evidence scales RRF: the best of nothing relevant must not look like a good answer."""
    fused = weighted_rrf(
        {"vector": [Ranked(id=9, evidence=0.15)], "text": []}, weights={"vector": 1, "text": 1}
    )
    assert fused[0].score < 0.1
    assert select(fused, top_k=5, min_score=0.3) == []


def test_select_keeps_top_k_above_the_floor_in_order():
    fused = weighted_rrf(
        {"vector": [Ranked(id=i, evidence=1.0 - i / 10) for i in range(8)]}, weights={"vector": 1.0}, k=0
    )
    chosen = select(fused, top_k=3, min_score=0.0)
    assert [f.id for f in chosen] == [0, 1, 2]
    assert all(a.score >= b.score for a, b in zip(chosen, chosen[1:], strict=False))


def test_no_weight_means_no_results():
    assert weighted_rrf({"vector": [Ranked(id=1, evidence=1)]}, weights={"vector": 0.0}) == []
