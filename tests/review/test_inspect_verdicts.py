"""The inspect screen's sentence-by-sentence verdicts: each sentence's verdict, its figures marked,
and the cited passage with the matching or conflicting figure marked, all of it escaped."""

import re

import numpy as np
import pytest

from ai_core.rag.models import KnowledgeChunk
from review import rules

from .conftest import admin_url

pytestmark = pytest.mark.django_db

PASSAGE = "You can get a refund within 30 days of purchase. Refunds are paid within 10 working days."
OUTPUT = (
    "You can get a refund within 14 days of purchase [1]. "
    "Refunds are paid within ten working days [1]. "
    "Orders over £90 ship free <script>alert('x')</script> [1]. "
    "Our shipping partner delivers every order by drone [2]."
)


def chunk(text: str, *, page_id: int, title: str) -> KnowledgeChunk:
    return KnowledgeChunk.objects.create(
        page_id=page_id, position=0, block_ids=["b-1"], locale="en", title=title, url=f"/p{page_id}/",
        text=text, content_hash=f"h{page_id}", embedder_id="test", dimensions=384, embedding=np.zeros(384),
    )  # fmt: skip


@pytest.fixture
def inspect_html(client, reviewer, make_held):
    refund = chunk(PASSAGE, page_id=42, title="Refund terms")
    shipping = chunk("Orders over £90 ship free. <b>Bold</b> claims.", page_id=43, title="Shipping")
    citations = [
        {"number": 1, "chunk_id": str(refund.pk), "title": "Refund terms", "url": "/p42/"},
        {"number": 2, "chunk_id": str(shipping.pk), "title": "Shipping", "url": "/p43/"},
    ]
    item = make_held(
        OUTPUT, reasons=[rules.CONTRADICTED_FIGURE, rules.UNSUPPORTED_FIGURE], citations=citations
    )
    client.force_login(reviewer)
    response = client.get(admin_url("inspect", item))
    assert response.status_code == 200
    return response.content.decode()


def rows(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'<tr class="review-verdict[^"]*" data-verdict="([a-z_]+)">(.*?)</tr>', html, re.S)
    )


def test_each_sentence_gets_its_verdict_with_the_figures_marked_in_sentence_and_passage(inspect_html):
    found = rows(inspect_html)
    assert set(found) == {"contradicted_figure", "supported", "unsupported_figure", "weak"}
    contradicted = found["contradicted_figure"]
    assert '<mark class="review-figure review-figure--conflict">14 days</mark>' in contradicted
    assert '<mark class="review-figure review-figure--conflict">30 days</mark> of purchase' in contradicted
    assert "14 days: [1] says 30 days" in contradicted and "Contradicted figure" in contradicted
    supported = found["supported"]
    assert '<mark class="review-figure review-figure--match">ten working days</mark>' in supported
    assert '<mark class="review-figure review-figure--match">10 working days</mark>' in supported
    assert "Weakly supported" in found["weak"] and "by drone" in found["weak"]


def test_a_figure_cited_to_the_wrong_source_points_at_the_source_that_states_it(inspect_html):
    unsupported = rows(inspect_html)["unsupported_figure"]
    assert (
        "£90: in none of the cited sources; [2] states it, but this sentence does not cite it" in unsupported
    )
    assert "(not cited by this sentence)" in unsupported
    assert '<mark class="review-figure review-figure--match">£90</mark> ship free.' in unsupported


def test_model_text_and_passages_are_escaped_around_the_marks(inspect_html):
    assert (
        "<script>alert" not in inspect_html
        and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in inspect_html
    )
    assert "<b>Bold</b>" not in inspect_html and "&lt;b&gt;Bold&lt;/b&gt;" in inspect_html
    assert "Contradicted figure" in inspect_html and "A figure contradicts its cited source" in inspect_html


def test_a_figure_found_in_the_source_title_is_marked_there(client, reviewer, make_held):
    refund = chunk(PASSAGE, page_id=44, title="Refund policy 2024")
    citations = [{"number": 1, "chunk_id": str(refund.pk), "title": "Refund policy 2024", "url": "/p44/"}]
    item = make_held("The 2024 refund policy allows a refund within 30 days [1].", citations=citations)
    client.force_login(reviewer)
    row = rows(client.get(admin_url("inspect", item)).content.decode())["supported"]
    assert 'Refund policy <mark class="review-figure review-figure--match">2024</mark>' in row
    assert '<mark class="review-figure review-figure--match">30 days</mark> of purchase' in row
