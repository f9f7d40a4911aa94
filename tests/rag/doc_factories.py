"""Files the document tests make themselves (nothing downloaded): PDFs with known text per page,
Word files with headings, an encrypted PDF, a scan-like PDF with no text layer, corrupt files and
oversized ones. fpdf2 writes the PDFs and python-docx the Word files, so what the extractor reads
was produced by independent code, the way editors' files are.

All functions return ``bytes``. PDF text must be Latin-1 (fpdf2's core fonts); ``latin1`` maps the
usual typographic punctuation.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime

_FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)


def latin1(text: str) -> str:
    return text.translate(_PUNCTUATION).encode("latin-1", "replace").decode("latin-1")


def _pdf(*, title: str = ""):
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_auto_page_break(auto=False)
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=11)
    return pdf


def _write_page(pdf, text: str, *, bookmarked: bool = True) -> None:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    pdf.set_xy(20, 20)
    for paragraph in paragraphs:
        marks = len(paragraph) - len(paragraph.lstrip("#"))
        if marks and paragraph[marks : marks + 1] == " ":  # "# Title": a bold heading with a bookmark
            title = latin1(paragraph[marks + 1 :].strip())
            if bookmarked:
                pdf.start_section(title, level=marks - 1, strict=False)
            pdf.set_font("Helvetica", style="B", size=max(13, 18 - 2 * marks))  # 16, 14 pt
            pdf.multi_cell(w=170, h=8, text=title, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=11)
            continue
        pdf.multi_cell(w=170, h=6, text=latin1(paragraph), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)  # a blank line between paragraphs, as the extractor sees them


def pdf_bytes(
    pages: Sequence[str],
    *,
    title: str = "",
    bookmarks: dict[int, str | tuple[int, str]] | None = None,
    heading_bookmarks: bool = True,
) -> bytes:
    """One page per string (paragraphs separated by blank lines; a paragraph ``"# Title"`` or
    ``"## Title"`` is a bold heading on the page with a bookmark at its place, as Word's PDF export
    writes headings). ``bookmarks`` maps a 1-based page to an extra outline entry with no text on
    the page, ``"Title"`` (level 1) or ``(level, "Title")``. ``heading_bookmarks=False`` writes the
    headings in large type only, with no outline (as many PDF tools do)."""
    pdf = _pdf(title=title)
    for number, text in enumerate(pages, start=1):
        pdf.add_page()
        mark = (bookmarks or {}).get(number)
        if mark:
            level, name = mark if isinstance(mark, tuple) else (1, mark)
            pdf.start_section(latin1(name), level=level - 1, strict=False)
        _write_page(pdf, text, bookmarked=heading_bookmarks)
    return bytes(pdf.output())


def encrypted_pdf_bytes(
    text: str = "Confidential settlement terms.",
    *,
    user_password: str = "s3cret",  # noqa: S107
    method: str = "RC4",
) -> bytes:
    """Encrypted with ``method`` ("RC4", "AES_128" or "AES_256"; AES needs pypdf's crypto extra).
    ``user_password=""`` makes a file any reader opens (only editing is locked), which the
    extractor must read like any other."""
    from fpdf.enums import EncryptionMethod

    pdf = _pdf(title="Encrypted")
    pdf.set_encryption(
        owner_password="owner-only",  # noqa: S106
        user_password=user_password,
        encryption_method=EncryptionMethod[method],
    )
    pdf.add_page()
    _write_page(pdf, text)
    return bytes(pdf.output())


def image_only_pdf_bytes(pages: int = 2) -> bytes:
    """A "scan": every page is a picture of a letter (drawn lines and a bitmap), no text layer."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (400, 560), color=255)
    draw = ImageDraw.Draw(image)
    for y in range(40, 520, 18):
        draw.rectangle((30, y, 30 + (y * 7) % 330, y + 8), fill=40)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = _pdf()
    for _ in range(pages):
        pdf.add_page()
        pdf.rect(15, 15, 180, 260)
        pdf.line(20, 30, 190, 30)
        pdf.image(io.BytesIO(buffer.getvalue()), x=25, y=40, w=160)
    return bytes(pdf.output())


def corrupt_pdf_bytes() -> bytes:
    """A PDF cut off a third of the way in (an interrupted upload): the header is right, the
    page tree and cross-reference table are gone."""
    whole = pdf_bytes(["First page text.", "Second page text."])
    return whole[: len(whole) // 3]


def docx_bytes(body: Sequence[tuple[str, object]], *, title: str = "") -> bytes:
    """A Word file from ``(kind, content)`` items, in order:

    ``("title", str)`` (the Title style), ``("h1".."h6", str)`` (Heading n), ``("p", str)``,
    ``("bullet", str)``, ``("number", str)``, ``("quote", str)``, ``("table", [[cell, ...], ...])``.
    ``title`` goes into the core properties. Bytes are deterministic (fixed dates and zip times).
    """
    import docx

    document = docx.Document()
    for kind, content in body:
        if kind == "title":
            document.add_paragraph(str(content), style="Title")
        elif kind.startswith("h") and kind[1:].isdigit():
            document.add_heading(str(content), level=int(kind[1:]))
        elif kind == "p":
            document.add_paragraph(str(content))
        elif kind == "bullet":
            document.add_paragraph(str(content), style="List Bullet")
        elif kind == "number":
            document.add_paragraph(str(content), style="List Number")
        elif kind == "quote":
            document.add_paragraph(str(content), style="Quote")
        elif kind == "table":
            rows = list(content)  # type: ignore[arg-type]
            table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = str(cell)
        else:
            raise ValueError(f"unknown docx item kind {kind!r}")
    props = document.core_properties
    props.title = title
    props.author = "Lectern tests"
    props.created = props.modified = _FIXED_DATE.replace(tzinfo=None)
    props.last_modified_by = "Lectern tests"
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    return deterministic_zip(buffer.getvalue())


def deterministic_zip(data: bytes) -> bytes:
    """The same archive with fixed member times, so equal content gives equal bytes (and hashes)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def corrupt_docx_bytes() -> bytes:
    """A zip that claims to be a Word file but whose document.xml is not XML."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "this is not <xml")
    return out.getvalue()


def oversized_pdf_bytes(limit: int) -> bytes:
    """A valid PDF padded (with a trailing comment) past ``limit`` bytes: it would parse, so a
    refusal proves the size check comes first."""
    whole = pdf_bytes(["Text that must never be indexed: it is over the limit."])
    return whole + b"\n%" + b"x" * max(0, limit - len(whole)) + b"\n"
