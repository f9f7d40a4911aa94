"""The demo's generated documents (content/demo_content/documents.py): real multi-page PDFs and a
Word file made from the project's text, the same bytes on every run, readable by the extractor
with each demo question answered on the page the demo says, and linked from articles that exist."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from ai_core.rag.api import extract_document
from content.demo_content import documents
from content.models import ArticleIndexPage

LIMIT = 10 * 1024 * 1024


def test_there_are_multi_page_pdfs_a_word_file_and_a_private_document():
    docs = documents.demo_documents()
    pdfs = [d for d in docs if d.filename.endswith(".pdf")]
    pages = {d.filename: extract_document(d.data, filename=d.filename, max_bytes=LIMIT).pages for d in pdfs}
    assert sum(1 for n in pages.values() if n >= 3) >= 2, pages
    assert any(d.filename.endswith(".docx") for d in docs)
    private = [d for d in docs if d.private]
    assert [d.collection for d in private] == [documents.PRIVATE_COLLECTION]
    assert all(d.collection == documents.PUBLIC_COLLECTION for d in docs if not d.private)


def test_the_same_text_gives_the_same_bytes():
    first = [d.data for d in documents.demo_documents()]
    documents.demo_documents.cache_clear()
    assert [d.data for d in documents.demo_documents()] == first


@pytest.mark.parametrize("doc", documents.demo_documents(), ids=lambda d: d.filename)
def test_each_document_reads_with_its_title_and_headings(doc):
    result = extract_document(doc.data, filename=doc.filename, content_type=doc.content_type, max_bytes=LIMIT)
    assert (result.status, result.title) == ("ok", doc.title)
    assert sum(b.kind == "heading" for b in result.blocks) >= 4
    if doc.filename.endswith(".pdf"):
        assert all(b.page for b in result.blocks)
    if doc.answer_phrase:
        holding = [b for b in result.blocks if doc.answer_phrase in (b.text or " ".join(b.items))]
        assert len(holding) == 1, doc.answer_phrase  # one passage answers the demo question


def test_the_fee_schedules_answer_is_on_its_own_page_and_no_article_states_it():
    doc = next(d for d in documents.demo_documents() if d.filename.endswith("fee-schedule-2026.pdf"))
    result = extract_document(doc.data, filename=doc.filename, max_bytes=LIMIT)
    answer = next(b for b in result.blocks if doc.answer_phrase in b.text)
    assert (answer.page, answer.heading_path) == (2, ("Add-ons",))
    # Only the PDF can answer it: a visitor's answer citing it must cite the PDF's page.
    articles = Path(documents.HERE).glob("[!_]*/*.md")
    assert not any("1.50 pounds per employee" in path.read_text() for path in articles)


def test_every_linking_article_exists_in_the_demo_content():
    for doc in documents.demo_documents():
        for target in doc.link_from:
            section, slug = target.split("/")
            assert (documents.HERE / section / f"{slug}.md").exists(), target


def test_write_demo_documents_writes_every_file(tmp_path):
    written = documents.write_demo_documents(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(d.filename for d in documents.demo_documents())
    assert all(p.read_bytes()[:4] in (b"%PDF", b"PK\x03\x04") for p in written)


@pytest.mark.django_db
def test_the_document_sources_and_bytecode_folders_are_not_loaded_as_sections():
    (documents.HERE / "__pycache__").mkdir(exist_ok=True)  # as importing the module makes it
    call_command("load_demo_content", stdout=StringIO())
    slugs = set(ArticleIndexPage.objects.values_list("slug", flat=True))
    assert slugs == {"policies", "legal", "guides", "faqs"}
