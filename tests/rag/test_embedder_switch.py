"""Switching between the two local embedders (numpy float32, onnx int8) re-embeds the index.

Both make 384-wide vectors of the same model, so the dimension filter cannot keep them apart:
only the embedder id can. These tests use the real embedders, not the fake one, because the
danger is exactly that two real, similar-looking vector sets get compared with each other.
"""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from ai_core import providers
from ai_core.rag.models import KnowledgeChunk
from ai_core.rag.selectors import IndexEmbedderMismatchError, page_index_status, retrieve
from content.indexing import page_index_sync

pytestmark = pytest.mark.django_db


def use_embedder(settings, alias: str) -> str:
    settings.AI_CORE = {**settings.AI_CORE, "DEFAULT_EMBEDDER": alias}
    providers.reset_providers()
    return providers.embedder().embedder_id


@pytest.fixture
def numpy_pages(settings, section, publish):
    use_embedder(settings, "local")
    pages = {
        "refunds": publish(
            section,
            title="Refund and Cancellation Policy",
            slug="refunds",
            items=[("h2", "Annual plans"), ("p", "Cancel an annual plan within 30 days for a full refund.")],
        ),
        "hours": publish(
            section,
            title="Contact and Support Hours",
            slug="hours",
            items=[("h2", "Phone"), ("p", "Our phone line is open 9am to 5pm UK time on weekdays.")],
        ),
    }
    yield pages
    providers.reset_providers()


def vectors_by_page() -> dict[tuple[int, str], tuple[str, np.ndarray]]:
    return {
        (c.page_id, c.content_hash): (c.embedder_id, np.asarray(c.embedding, dtype=np.float64))
        for c in KnowledgeChunk.objects.all()
    }


def test_switching_to_the_onnx_embedder_re_embeds_and_never_mixes_vectors(numpy_pages, settings):
    numpy_id = providers.embedder().embedder_id
    before = vectors_by_page()
    assert before and {embedder for embedder, _ in before.values()} == {numpy_id}

    onnx_id = use_embedder(settings, "local-onnx")
    assert onnx_id != numpy_id and providers.embedder().dimensions == 384

    # Not re-indexed yet: a clear error naming the fix, and the admin shows the pages as outdated.
    with pytest.raises(IndexEmbedderMismatchError, match="reindex --all"):
        retrieve("phone opening hours", site=None, locale="en")
    assert not page_index_status(page_id=numpy_pages["hours"].pk).embedder_current

    # Half-way through a re-index: only the re-embedded page can be found; the other page's
    # numpy vectors (same size, same text) are never compared with an onnx query vector.
    page_index_sync(page_id=numpy_pages["refunds"].pk)
    found = retrieve("phone opening hours", site=None, locale="en", min_score=0)
    assert found and {r.page_id for r in found} == {numpy_pages["refunds"].pk}

    out = StringIO()
    call_command("reindex", "--all", stdout=out, stderr=StringIO())
    hours_chunks = sum(1 for page_id, _ in before if page_id == numpy_pages["hours"].pk)
    # The hours page is embedded again even though its text and content hashes did not change.
    assert f"{hours_chunks} embedded" in out.getvalue()
    assert "another embedder" not in out.getvalue()

    after = vectors_by_page()
    assert after.keys() == before.keys()
    for key, (embedder, vector) in after.items():
        assert embedder == onnx_id
        old = before[key][1]
        similarity = float(vector @ old / (np.linalg.norm(vector) * np.linalg.norm(old)))
        assert 0.99 < similarity < 0.999999  # the same text, re-embedded by the other model
    assert retrieve("phone opening hours", site=None, locale="en")[0].page_id == numpy_pages["hours"].pk
    assert page_index_status(page_id=numpy_pages["hours"].pk).embedder_current


def test_switching_back_to_numpy_re_embeds_again(numpy_pages, settings):
    use_embedder(settings, "local-onnx")
    call_command("reindex", "--all", stdout=StringIO(), stderr=StringIO())
    numpy_id = use_embedder(settings, "local")
    with pytest.raises(IndexEmbedderMismatchError):
        retrieve("refund", site=None, locale="en")
    call_command("reindex", "--all", stdout=StringIO(), stderr=StringIO())
    assert set(KnowledgeChunk.objects.values_list("embedder_id", flat=True)) == {numpy_id}
    assert (
        retrieve("money back after cancelling", site=None, locale="en")[0].page_id
        == numpy_pages["refunds"].pk
    )
