"""extract_document on files the tests make (tests/rag/doc_factories.py): every status, PDF page
numbers and bookmarks, Word headings, lists and tables, and the text formats. Pure: no database."""

from __future__ import annotations

import io
import re

import pytest

from ai_core.rag.chunking import ChunkingConfig, chunk_segments
from ai_core.rag.documents import page_of_block_ids
from ai_core.rag.extract import STATUSES, extract_document, extraction_segments

from . import doc_factories as files

LIMIT = 10_000_000

TERMS_PAGES = [
    "These terms apply to every order placed through the shop.\n\nThey were last changed in March.",
    "Either party may end the contract with thirty days written notice.",
    "Refunds are paid within fourteen days of the returned goods arriving.",
]


def extract(data: bytes, filename: str, **kwargs):
    return extract_document(data, filename=filename, max_bytes=kwargs.pop("max_bytes", LIMIT), **kwargs)


def test_pdf_text_is_read_page_by_page_with_page_numbers():
    result = extract(files.pdf_bytes(TERMS_PAGES, title="Shop terms"), "terms.pdf")
    assert (result.status, result.message, result.kind, result.pages) == ("ok", "ok", "pdf", 3)
    assert result.title == "Shop terms"
    by_page = {}
    for block in result.blocks:
        by_page.setdefault(block.page, []).append(block.text)
    assert sorted(by_page) == [1, 2, 3]
    assert "thirty days written notice" in " ".join(by_page[2])
    assert "fourteen days" in " ".join(by_page[3]) and "fourteen days" not in " ".join(by_page[2])


def test_pdf_bookmarks_become_headings_on_their_page():
    data = files.pdf_bytes(TERMS_PAGES, bookmarks={1: "Scope", 2: "Ending the contract", 3: (2, "Refunds")})
    result = extract(data, "terms.pdf")
    headings = [(b.text, b.level, b.page) for b in result.blocks if b.kind == "heading"]
    assert headings == [("Scope", 1, 1), ("Ending the contract", 1, 2), ("Refunds", 2, 3)]
    refund = next(b for b in result.blocks if "fourteen days" in b.text)
    assert refund.heading_path == ("Ending the contract", "Refunds")
    assert result.title == "Scope"  # no metadata title: the first heading


def test_a_heading_in_the_middle_of_a_page_starts_its_section_there():
    pages = [
        "Read this first.\n\n# Scope\n\nThese terms cover online orders.",
        "They also cover phone orders.\n\n## Exclusions\n\nGift cards are excluded.",
    ]
    result = extract(files.pdf_bytes(pages), "terms.pdf")
    shape = [(b.kind, b.page, b.heading_path, b.text) for b in result.blocks]
    assert shape == [
        ("paragraph", 1, (), "Read this first."),
        ("heading", 1, (), "Scope"),
        ("paragraph", 1, ("Scope",), "These terms cover online orders."),
        ("paragraph", 2, ("Scope",), "They also cover phone orders."),
        ("heading", 2, ("Scope",), "Exclusions"),
        ("paragraph", 2, ("Scope", "Exclusions"), "Gift cards are excluded."),
    ]


def test_without_bookmarks_headings_are_read_from_large_type():
    pages = [
        "Read this first.\n\n# Scope\n\nThese terms cover online orders.",
        "They also cover phone orders.\n\n## Exclusions\n\nGift cards are excluded.",
    ]
    data = files.pdf_bytes(pages, title="Shop terms", heading_bookmarks=False)
    from pypdf import PdfReader

    assert PdfReader(io.BytesIO(data)).outline == []  # nothing but the type size to go by
    result = extract(data, "terms.pdf")
    shape = [(b.kind, b.level, b.page, b.heading_path, b.text) for b in result.blocks]
    assert shape == [
        ("paragraph", 0, 1, (), "Read this first."),
        ("heading", 1, 1, (), "Scope"),
        ("paragraph", 0, 1, ("Scope",), "These terms cover online orders."),
        ("paragraph", 0, 2, ("Scope",), "They also cover phone orders."),
        ("heading", 2, 2, ("Scope",), "Exclusions"),
        ("paragraph", 0, 2, ("Scope", "Exclusions"), "Gift cards are excluded."),
    ]


def test_a_large_title_equal_to_the_metadata_title_is_not_a_section():
    data = files.pdf_bytes(
        ["# Shop terms\n\n## Scope\n\nOnline orders."], title="Shop terms", heading_bookmarks=False
    )
    result = extract(data, "terms.pdf")
    assert result.title == "Shop terms"
    assert [(b.kind, b.level, b.heading_path) for b in result.blocks] == [
        ("heading", 2, ()),
        ("paragraph", 0, ("Scope",)),
    ]


def test_pdf_paragraphs_and_list_items_are_kept_apart():
    first = "Refunds are paid to the card that was charged. " * 4 + "That card must still be open."
    second = "Gift cards are refunded as store credit only. " * 4 + "Credit never expires."
    page = f"{first}\n\n{second}\n\n- Items bought in a sale can be exchanged.\n\n- Opened software cannot."
    result = extract(files.pdf_bytes([page]), "refunds.pdf")
    texts = [b.text for b in result.blocks]
    assert texts == [first, second, "- Items bought in a sale can be exchanged.", "- Opened software cannot."]


def test_pdf_ligatures_and_soft_hyphens_become_plain_letters():
    from ai_core.rag.extract import _pdf_page_blocks

    blocks = _pdf_page_blocks(["The \ufb01nancial of\ufb01ce re\u00adviews it."], page=1, headings=[])
    assert [b.text for b in blocks] == ["The financial office reviews it."]


def test_pdf_chunks_never_straddle_pages_and_cite_their_page():
    result = extract(files.pdf_bytes(TERMS_PAGES), "terms.pdf")
    chunks = chunk_segments(
        extraction_segments(result), title="Terms", config=ChunkingConfig(max_tokens=400, overlap_tokens=40)
    )
    # All three pages would fit one chunk of 400 word pieces: the page breaks cut them.
    pages = [page_of_block_ids(c.block_ids) for c in chunks]
    assert pages == [1, 2, 3]
    assert "thirty days" in chunks[1].text and "fourteen" not in chunks[1].text


def test_an_encrypted_pdf_is_reported_not_read():
    result = extract(files.encrypted_pdf_bytes("Settlement sum is 40,000 pounds."), "settlement.pdf")
    assert (result.status, result.message, result.blocks) == ("encrypted", "encrypted", [])


@pytest.mark.parametrize("method", ["RC4", "AES_128", "AES_256"])
def test_a_pdf_locked_only_for_editing_opens_with_the_empty_password(method):
    data = files.encrypted_pdf_bytes("Settlement sum is 40,000 pounds.", user_password="", method=method)
    result = extract(data, "s.pdf")
    assert result.status == "ok"
    assert result.blocks[0].text == "Settlement sum is 40,000 pounds." and result.blocks[0].page == 1
    locked = extract(files.encrypted_pdf_bytes("Settlement sum.", method=method), "s.pdf")
    assert (locked.status, locked.message) == ("encrypted", "encrypted")


def test_a_scan_without_a_text_layer_has_no_extractable_text():
    result = extract(files.image_only_pdf_bytes(pages=3), "scan.pdf")
    assert (result.status, result.message, result.pages, result.blocks) == (
        "no_text",
        "no extractable text",
        3,
        [],
    )


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (files.corrupt_pdf_bytes(), "cut-off.pdf", ""),
        (b"<html>renamed</html>", "renamed.pdf", "not a PDF file"),
        (b"", "empty.pdf", "not a PDF file"),
        (files.corrupt_docx_bytes(), "broken.docx", "damaged Word file"),
        (b"%PDF-1.7 not really", "letter.docx", "not a Word .docx file (not a zip archive)"),
        (b"caf\xe9 \xff\xfe", "notes.txt", "not UTF-8 text"),
    ],
)
def test_corrupt_files_are_unreadable_with_a_reason(data, filename, reason):
    result = extract(data, filename)
    assert result.status == "unreadable" and result.blocks == []
    assert result.message.startswith("unreadable: ") and len(result.message) > len("unreadable: ")
    assert reason in result.message


def test_a_damaged_page_is_skipped_and_named_and_the_other_pages_kept(monkeypatch):
    from pypdf import PageObject
    from pypdf.errors import PdfReadError

    real = PageObject.extract_text

    def extract_text(page, *args, **kwargs):
        if "thirty days" in real(page):
            raise PdfReadError("invalid content stream")
        return real(page, *args, **kwargs)

    monkeypatch.setattr(PageObject, "extract_text", extract_text)
    result = extract(files.pdf_bytes(TERMS_PAGES), "terms.pdf")
    assert (result.status, result.message) == ("ok", "ok; unreadable pages: 2")
    assert sorted({b.page for b in result.blocks}) == [1, 3]


def test_a_worker_time_limit_stops_reading_instead_of_counting_as_a_bad_page(monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded
    from pypdf import PageObject

    pages_read = []

    def extract_text(page, *args, **kwargs):
        pages_read.append(page)
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(PageObject, "extract_text", extract_text)
    result = extract(files.pdf_bytes(TERMS_PAGES), "terms.pdf")
    assert len(pages_read) == 1  # stopped at the first page, not tried on every page
    assert result.status == "unreadable" and "SoftTimeLimitExceeded" in result.message


def test_an_oversized_file_is_refused_before_it_is_parsed():
    data = files.oversized_pdf_bytes(60_000)
    # The same bytes parse under a larger limit: the refusal is the size check, not the content.
    assert extract(data, "big.pdf", max_bytes=100_000).status == "ok"
    result = extract(data, "big.pdf", max_bytes=50 * 1024)
    assert (result.status, result.blocks) == ("too_large", [])
    assert result.message == f"too large: {len(data) / 1024:.1f} kB > 50.0 kB"
    message = extract(b"x" * 12 * 1024 * 1024, "big.txt", max_bytes=10 * 1024 * 1024).message
    assert message == "too large: 12.0 MB > 10.0 MB"


def test_a_docx_that_inflates_far_past_the_limit_is_not_opened():
    data = files.docx_bytes([("p", "padding " * 200_000)])  # 1.6 MB of XML, a few kB zipped
    assert len(data) < 60_000
    result = extract(data, "bomb.docx", max_bytes=60_000)  # 20 times: 1.1 MB unpacked
    assert (result.status, result.blocks) == ("too_large", [])
    assert re.fullmatch(r"too large: unpacks to \d\.\d MB > 1\.1 MB", result.message), result.message
    assert extract(data, "bomb.docx", max_bytes=200_000).status == "ok"  # 4 MB unpacked is allowed there


@pytest.mark.parametrize(
    ("filename", "content_type", "message"),
    [
        ("photo.png", None, "unsupported file type: .png"),
        ("contract.doc", None, "unsupported file type: .doc (save it as .docx)"),
        ("noextension", None, "unsupported file type: no extension"),
        ("noextension", "application/zip", "unsupported file type: application/zip"),
    ],
)
def test_unsupported_types_say_what_they_are(filename, content_type, message):
    result = extract(b"\x89PNG\r\n", filename, content_type=content_type)
    assert (result.status, result.message, result.kind) == ("unsupported", message, "")


def test_the_declared_type_is_used_when_the_name_has_no_extension():
    result = extract(files.pdf_bytes(["Only page."]), "download", content_type="application/pdf")
    assert (result.status, result.kind, result.pages) == ("ok", "pdf", 1)


def test_docx_headings_become_heading_paths_and_tables_and_lists_are_text():
    data = files.docx_bytes(
        [
            ("title", "Supply agreement"),
            ("h1", "Parties"),
            ("p", "The supplier is Acme Ltd."),
            ("h2", "Notices"),
            ("p", "Notices go to the registered office."),
            ("bullet", "by post"),
            ("bullet", "by email"),
            ("h1", "Fees"),
            ("table", [["Item", "Fee"], ["Set-up", "500 pounds"]]),
        ],
        title="Supply agreement template",
    )
    result = extract(data, "supply.docx")
    assert (result.status, result.kind, result.pages) == ("ok", "docx", 0)
    assert result.title == "Supply agreement template"  # core properties win over the Title style
    shape = [(b.kind, b.level, b.heading_path, b.text or b.items) for b in result.blocks]
    assert shape == [
        ("heading", 1, (), "Parties"),
        ("paragraph", 0, ("Parties",), "The supplier is Acme Ltd."),
        ("heading", 2, ("Parties",), "Notices"),
        ("paragraph", 0, ("Parties", "Notices"), "Notices go to the registered office."),
        ("list", 0, ("Parties", "Notices"), ["by post", "by email"]),
        ("heading", 1, (), "Fees"),
        ("paragraph", 0, ("Fees",), "Item | Fee"),
        ("paragraph", 0, ("Fees",), "Set-up | 500 pounds"),
    ]
    assert all(b.page is None for b in result.blocks)


def test_a_custom_docx_style_with_an_outline_level_is_a_heading():
    import io

    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    style = document.styles.add_style("Clause Title", WD_STYLE_TYPE.PARAGRAPH)
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "1")  # 0-based: a level-2 heading, as Word's "Heading 2"
    style.element.get_or_add_pPr().append(outline)
    document.add_heading("Payment", level=1)
    document.add_paragraph("Late fees", style="Clause Title")
    document.add_paragraph("Interest is charged at 4 per cent over base rate.")
    buffer = io.BytesIO()
    document.save(buffer)
    result = extract(buffer.getvalue(), "clauses.docx")
    assert [(b.kind, b.level, b.heading_path) for b in result.blocks] == [
        ("heading", 1, ()),
        ("heading", 2, ("Payment",)),
        ("paragraph", 0, ("Payment", "Late fees")),
    ]


def test_docx_text_reads_tracked_changes_accepted_and_content_controls():
    import io

    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    document.add_heading("Payment", level=1)
    body = document.element.body
    body.insert(
        len(body) - 1,  # before the section properties
        parse_xml(
            f"<w:p {nsdecls('w')}><w:r><w:t xml:space='preserve'>Invoices are due within </w:t></w:r>"
            "<w:del w:id='1' w:author='A'><w:r><w:delText>60</w:delText></w:r></w:del>"
            "<w:ins w:id='2' w:author='A'><w:r><w:t>30</w:t></w:r></w:ins>"
            "<w:r><w:t xml:space='preserve'> days.</w:t></w:r>"
            "<w:moveFrom w:id='3' w:author='A'><w:r><w:t>Moved away.</w:t></w:r></w:moveFrom></w:p>"
        ),
    )
    body.insert(
        len(body) - 1,
        parse_xml(
            f"<w:sdt {nsdecls('w')}><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>Late fees apply after "
            "the due date.</w:t></w:r></w:p></w:sdtContent></w:sdt>"
        ),
    )
    buffer = io.BytesIO()
    document.save(buffer)
    result = extract(buffer.getvalue(), "tracked.docx")
    assert [b.text for b in result.blocks] == [
        "Payment",
        "Invoices are due within 30 days.",
        "Late fees apply after the due date.",
    ]


def test_docx_title_falls_back_to_the_title_style_then_the_first_heading():
    assert (
        extract(files.docx_bytes([("title", "Styled title"), ("p", "Body.")]), "a.docx").title
        == "Styled title"
    )
    assert (
        extract(files.docx_bytes([("h1", "First heading"), ("p", "Body.")]), "a.docx").title
        == "First heading"
    )


def test_an_empty_docx_has_no_extractable_text():
    result = extract(files.docx_bytes([("p", "   ")]), "blank.docx")
    assert (result.status, result.message) == ("no_text", "no extractable text")


def test_docx_chunks_carry_the_heading_path_and_no_page():
    data = files.docx_bytes([("h1", "Notices"), ("p", "Notices go to the registered office.")])
    chunks = chunk_segments(
        extraction_segments(extract(data, "a.docx")),
        title="Agreement",
        config=ChunkingConfig(max_tokens=200, overlap_tokens=20),
    )
    assert [(c.heading_path, page_of_block_ids(c.block_ids)) for c in chunks] == [(("Notices",), None)]


@pytest.mark.parametrize(
    ("data", "filename", "title", "first"),
    [
        (b"<title>Travel</title><h2>Hotels</h2><p>Capped at 150.</p>", "t.html", "Travel", ("Hotels", ())),
        (b"# Guide\n\n## Meals\n\n25 pounds a day.\n", "g.md", "Guide", ("Meals", ())),
        (b"\xef\xbb\xbfKeep receipts.\n\nFor six years.", "n.txt", "", ("Keep receipts.", ())),
    ],
)
def test_text_formats_use_the_document_parsers(data, filename, title, first):
    result = extract(data, filename)
    assert (result.status, result.title, result.pages) == ("ok", title, 0)
    assert (result.blocks[0].text, result.blocks[0].heading_path) == first
    if result.blocks[0].kind == "heading":
        assert result.blocks[1].heading_path == (first[0],)


def test_a_declared_charset_decodes_text_that_is_not_utf8():
    result = extract(
        "Caf\u00e9 opening hours.".encode("latin-1"), "n.txt", content_type="text/plain; charset=latin-1"
    )
    assert result.blocks[0].text == "Caf\u00e9 opening hours."


def test_nul_and_control_characters_never_reach_the_blocks():
    result = extract(b"Line with a \x00 NUL and \x07 bell.", "n.txt")
    assert result.blocks[0].text == "Line with a NUL and bell."


def test_every_status_is_one_of_the_documented_ones():
    made = {
        extract(files.pdf_bytes(["Text."]), "a.pdf").status,
        extract(files.encrypted_pdf_bytes(), "a.pdf").status,
        extract(files.image_only_pdf_bytes(), "a.pdf").status,
        extract(files.corrupt_pdf_bytes(), "a.pdf").status,
        extract(b"x" * 20, "a.pdf", max_bytes=10).status,
        extract(b"x", "a.png").status,
    }
    assert made == set(STATUSES)


@pytest.mark.parametrize("name", ["mutated.pdf", "mutated.docx"])
def test_damaged_bytes_never_raise(name):
    """Random byte damage and truncation (a fixed seed, so a failure reproduces) always ends in a
    documented status: the promise that one bad upload never crashes an indexing worker."""
    import random

    if name.endswith(".pdf"):
        data = files.pdf_bytes(["First page. " * 20, "# Part two\n\nSecond page."], bookmarks={1: "Intro"})
    else:
        data = files.docx_bytes([("h1", "Terms"), ("p", "Clause text. " * 30), ("table", [["a", "b"]])])
    rng = random.Random(17)
    seen = set()
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(len(damaged))]
        result = extract(bytes(damaged), name)
        assert result.status in STATUSES and result.message
        seen.add(result.status)
    assert "unreadable" in seen
