"""``load_demo_content`` puts the generated PDFs and Word file into the document library, the
private one behind a login restriction (never indexed), linked from demo articles; reruns change
nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from wagtail.documents import get_document_model
from wagtail.models import CollectionViewRestriction

from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from ai_core.rag.selectors import retrieve
from content.demo_content.documents import PRIVATE_COLLECTION, demo_documents
from content.documents.indexing import documents_index_sync, documents_to_reindex
from content.documents.links import page_document_ids
from content.models import ArticlePage
from tests.rag.fakes import HashEmbedder

pytestmark = pytest.mark.django_db


def load() -> str:
    """Run the command, then index the library here. On-commit work is not run (this test's
    transaction never commits): indexing and summarising the thirty demo articles would take
    minutes and is not what is tested."""
    out = StringIO()
    call_command("load_demo_content", stdout=out)
    documents_index_sync(document_ids=documents_to_reindex())
    return out.getvalue()


def test_the_demo_documents_are_uploaded_linked_and_the_private_one_never_indexed(fake_embedder):
    output = load()
    specs = demo_documents()
    documents = {d.title: d for d in get_document_model().objects.select_related("collection")}
    assert set(documents) == {s.title for s in specs}
    assert sum(s.filename.endswith(".pdf") for s in specs) >= 2 and any(
        s.filename.endswith(".docx") for s in specs
    )
    assert "4 uploaded" in output
    for spec in specs:
        document = documents[spec.title]
        stored = KnowledgeDocument.objects.filter(source="wagtail", key=str(document.pk)).first()
        if spec.private:
            assert document.collection.name == PRIVATE_COLLECTION
            assert CollectionViewRestriction.objects.filter(collection=document.collection).exists()
            assert stored is None or not KnowledgeChunk.objects.filter(document=stored).exists()
        else:
            assert stored.status == "indexed" and stored.chunk_count > 0
            if spec.filename.endswith(".pdf"):
                assert stored.page_count > 1
        for ref in spec.link_from:
            slug = ref.split("/", 1)[1]
            assert document.pk in page_document_ids(ArticlePage.objects.get(slug=slug)), ref
    runbook = next(s for s in specs if s.private)
    hits = retrieve(runbook.question, site=None, locale=None, min_score=0, top_k=50)
    assert not any(runbook.answer_phrase in hit.text for hit in hits)


def test_loading_the_demo_again_re_embeds_nothing_and_links_nothing_twice(fake_embedder):
    load()
    calls = len(HashEmbedder.calls)
    revisions = {p.pk: p.revisions.count() for p in ArticlePage.objects.all()}
    output = load()
    assert "0 uploaded, 0 replaced, 4 unchanged; 0 article link(s) added" in output
    assert len(HashEmbedder.calls) == calls
    assert {p.pk: p.revisions.count() for p in ArticlePage.objects.all()} == revisions
