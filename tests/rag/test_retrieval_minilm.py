"""Hybrid retrieval with the real local embedder (all-MiniLM-L6-v2): each retriever covers the
other's blind spot. Slower than the fake-embedder tests (a few seconds of model work)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ai_core import providers
from ai_core.rag.conf import retrieval_settings
from ai_core.rag.selectors import retrieve

pytestmark = pytest.mark.django_db


@pytest.fixture
def minilm_pages(section, publish):
    providers.reset_providers()
    embedder_id = providers.embedder().embedder_id  # the default local embedder, numpy or int8 ONNX
    assert ":all-MiniLM-L6-v2" in embedder_id and embedder_id.endswith(":384"), embedder_id
    return {
        "refunds": publish(
            section,
            title="Refund and Cancellation Policy",
            slug="refunds",
            intro="",
            items=[
                ("h2", "Annual plans"),
                ("p", "If you cancel an annual plan within 30 days, we reimburse the full fee."),
            ],
        ),
        "security": publish(
            section,
            title="Security FAQ",
            slug="security",
            intro="",
            items=[
                ("h2", "Hardware"),
                ("p", "Retired disks are wiped according to NIST 800-88 by our host."),
            ],
        ),
        "hours": publish(
            section,
            title="Contact and Support Hours",
            slug="hours",
            intro="",
            items=[("h2", "Phone"), ("p", "Our phone line is open 9am to 5pm UK time on weekdays.")],
        ),
    }


def test_a_paraphrase_with_no_shared_words_is_ranked_first_by_the_vector_side(minilm_pages):
    results = retrieve("How do I get my money back?", site=None, locale="en", min_score=0)
    assert results and results[0].page_id == minilm_pages["refunds"].pk
    assert results[0].text_coverage is None, results[0]  # full text matched nothing: meaning did the work


def test_an_exact_code_is_found_by_the_full_text_side(minilm_pages):
    settings = retrieval_settings()
    vector_only = retrieve(
        "800-88", site=None, locale="en", min_score=0, settings=replace(settings, text_weight=0)
    )
    hybrid = retrieve("800-88", site=None, locale="en", min_score=0)
    assert hybrid[0].page_id == minilm_pages["security"].pk
    assert hybrid[0].text_coverage == 1.0
    assert hybrid[0].score > vector_only[0].score


def test_an_unrelated_question_returns_nothing_at_the_tuned_floor(minilm_pages):
    assert retrieve("What is a good recipe for vegetable lasagne?", site=None, locale="en") == []
