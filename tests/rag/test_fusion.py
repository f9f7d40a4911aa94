"""Weighted RRF with evidence: ordering, absolute scores, the minimum-score floor."""

from ai_core.rag.fusion import Candidate, Ranked, lexical_rescore, select, term_weights, weighted_rrf


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


def test_a_rare_query_term_outweighs_a_common_one_in_lexical_rescoring():
    """Two candidates equally close in meaning: the one with the rare term wins, whatever the
    vector order, and a term in most chunks moves nothing."""
    weights = term_weights(["packag", "apt-cach"], frequencies={"packag": 0.5, "apt-cach": 0.002})
    assert weights["apt-cach"] > 3 * weights["packag"]
    fused = lexical_rescore(
        [
            Candidate(id=1, similarity=0.61, terms=frozenset({"packag"})),
            Candidate(id=2, similarity=0.60, terms=frozenset({"apt-cach"})),
        ],
        weights=weights,
        vector_weight=1.0,
        text_weight=0.3,
    )
    assert [f.id for f in fused] == [2, 1]
    assert fused[0].ranks == {"vector": 2} and fused[0].evidence["vector"] == 0.6


def test_lexical_rescore_scores_are_a_weighted_mean_in_zero_to_one():
    weights = {"refund": 1.0, "annual": 1.0}
    perfect, half, none = lexical_rescore(
        [
            Candidate(id=1, similarity=1.0, terms=frozenset(weights)),
            Candidate(id=2, similarity=0.5, terms=frozenset({"refund"})),
            Candidate(id=3, similarity=-0.2, terms=frozenset()),
        ],
        weights=weights,
        vector_weight=1.0,
        text_weight=1.0,
    )
    assert abs(perfect.score - 1.0) < 1e-9 and abs(half.score - 0.5) < 1e-9
    assert none.score == 0.0 and none.evidence == {"vector": 0.0}  # no term matched: no text evidence
    text_only = lexical_rescore(
        [Candidate(id=3, similarity=0.9, terms=frozenset())], weights=weights, vector_weight=0, text_weight=1
    )
    assert text_only[0].score == 0.0
    assert (
        lexical_rescore([Candidate(id=1, similarity=1.0)], weights={}, vector_weight=0, text_weight=0) == []
    )


def test_the_idf_cut_off_drops_terms_that_are_everywhere_unless_all_are():
    shares = {"debian": 0.6, "packag": 0.3}
    assert set(term_weights(["debian", "packag", "dselect"], frequencies=shares, max_frequency=0.5)) == {
        "packag",
        "dselect",
    }
    assert set(term_weights(["debian"], frequencies=shares, max_frequency=0.5)) == {"debian"}
    # a term statistics do not list is rarer than every listed one
    unlisted = term_weights(["dselect", "packag"], frequencies=shares, rare_frequency=0.01)
    assert unlisted["dselect"] > unlisted["packag"]


def test_a_passage_whose_page_is_about_the_question_outranks_a_lone_mention():
    """Neighbour context: chunk 1 is slightly closer to the question, but the chunks around it are
    about something else; chunk 2's neighbour is on the question too. Without neighbours 1 wins,
    with them 2 does, and each keeps its own score (what the floor and a reader see)."""
    candidates = [
        Candidate(id=1, similarity=0.62, terms=frozenset()),
        Candidate(id=2, similarity=0.60, terms=frozenset()),
        Candidate(id=3, similarity=0.55, terms=frozenset()),  # a page's only chunk: no neighbour
    ]
    plain = lexical_rescore(candidates, weights={}, vector_weight=1.0, text_weight=0.2)
    assert [f.id for f in plain] == [1, 2, 3]
    ordered = lexical_rescore(
        candidates,
        weights={},
        vector_weight=1.0,
        text_weight=0.2,
        neighbours={1: 0.20, 2: 0.58},
        neighbour_weight=0.2,
    )
    assert [f.id for f in ordered] == [2, 3, 1]
    assert {f.id: f.score for f in ordered} == {f.id: f.score for f in plain}
    assert (
        ordered[0].evidence == {"vector": 0.6, "neighbour": 0.58} and "neighbour" not in ordered[1].evidence
    )
    off = lexical_rescore(
        candidates, weights={}, vector_weight=1.0, text_weight=0.2, neighbours={1: 0.2}, neighbour_weight=0.0
    )
    assert [f.id for f in off] == [1, 2, 3]
