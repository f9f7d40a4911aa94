"""``providers.query_vector``: a question's vector is embedded once, per embedder, and only a
successful call is remembered."""

from __future__ import annotations

import pytest

from ai_core import providers
from ai_core.providers.base import EmbeddingResult, Usage


class CountingEmbedder:
    def __init__(self, embedder_id: str, value: float) -> None:
        self.embedder_id, self.value, self.calls, self.fail = embedder_id, value, 0, False

    def embed(self, texts):
        self.calls += 1
        if self.fail:
            raise RuntimeError("provider down")
        return EmbeddingResult(
            vectors=[[self.value, float(len(t))] for t in texts], provider="t", model="t", usage=Usage()
        )


@pytest.fixture(autouse=True)
def _clean():
    providers.reset_providers()
    yield
    providers.reset_providers()


def test_the_same_question_is_embedded_once():
    embedder = CountingEmbedder("a:1", 1.0)
    first = providers.query_vector("How do refunds work?", embedder=embedder)
    assert providers.query_vector("How do refunds work?", embedder=embedder) == first
    assert embedder.calls == 1
    providers.query_vector("Another question", embedder=embedder)
    assert embedder.calls == 2


def test_another_embedder_never_gets_the_first_ones_vector():
    old, new = CountingEmbedder("a:1", 1.0), CountingEmbedder("b:1", 2.0)
    providers.query_vector("Same words", embedder=old)
    assert providers.query_vector("Same words", embedder=new) == [2.0, 10.0]


def test_a_failed_call_is_not_remembered_and_old_questions_are_forgotten():
    embedder = CountingEmbedder("a:1", 1.0)
    embedder.fail = True
    with pytest.raises(RuntimeError):
        providers.query_vector("q", embedder=embedder)
    embedder.fail = False
    assert providers.query_vector("q", embedder=embedder) == [1.0, 1.0]
    for n in range(20):
        providers.query_vector(f"question {n}", embedder=embedder)
    calls = embedder.calls
    providers.query_vector("q", embedder=embedder)  # long pushed out by the 20 after it
    assert embedder.calls == calls + 1
