"""A document chunk's page (kept in its block ids) becomes the ``#page=N`` of its citation link;
page chunks keep ``#block-<uuid>``. Model instances only: no database needed."""

from __future__ import annotations

from ai_core.rag.models import KnowledgeChunk


def test_a_pdf_chunk_links_to_its_page():
    chunk = KnowledgeChunk(document_id=12, block_ids=["d7-p4", "d8-p4"], url="/documents/12/terms.pdf")
    assert (chunk.page, chunk.anchor_url) == (4, "/documents/12/terms.pdf#page=4")


def test_a_chunk_under_a_heading_from_the_previous_page_links_to_its_text_page():
    chunk = KnowledgeChunk(document_id=12, block_ids=["d6-p3", "d7-p4"], url="/documents/12/terms.pdf")
    assert chunk.anchor_url.endswith("#page=4")


def test_documents_without_pages_link_to_the_file_and_pages_to_their_block():
    docx = KnowledgeChunk(document_id=3, block_ids=["d0", "d1"], url="https://files.example.org/kb/a.docx")
    assert (docx.page, docx.anchor_url) == (None, "https://files.example.org/kb/a.docx")
    page = KnowledgeChunk(page_id=5, block_ids=["", "9b2c"], url="/terms/")
    assert (page.page, page.anchor_url) == (None, "/terms/#block-9b2c")
