"""Files into document blocks: PDF (text per page), Word ``.docx``, HTML, Markdown and plain text.

One function, ``extract_document``, serves the Wagtail document library and S3 ingest alike, so a
PDF reads the same wherever it was uploaded. Pure Python (no Django, no Wagtail): the callers own
the size limit and what to do with each status.

It never raises for a bad file. Editors upload what they have (password-protected contracts,
scanned letters, truncated downloads, a Word file renamed), and a worker that crashes on one of them
would leave the rest unindexed; every failure is a status with a sentence for the admin instead:

- ``too_large``: over ``max_bytes``, refused before any parsing (or a .docx unpacking to 20 times that);
- ``encrypted``: a PDF that does not open with the empty password;
- ``no_text``: a PDF with no text layer (a scan) or a file with no words in it;
- ``unreadable``: corrupt or not what its name says, with the parser's reason;
- ``unsupported``: a type we do not read (``.doc``, images, ...).

Libraries: ``pypdf`` (pure Python, maintained, handles encryption with its crypto extra) reads
PDFs page by page, so every block keeps its page number and citations can link ``#page=N``;
``python-docx`` reads Word's own structure (Heading 1..n styles, paragraphs, tables). HTML,
Markdown and text go through ``ai_core.rag.documents``' parsers.
"""

from __future__ import annotations

import io
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .chunking import Segment
from .documents import DocBlock, DocumentParseError, blocks_to_segments, parse_document

# Bump whenever a change here alters the blocks made from the same file (text, paragraphs,
# headings, pages): callers put it into their index fingerprint, like ``CHUNKER_VERSION``.
EXTRACTOR_VERSION = 1

STATUSES = ("ok", "encrypted", "no_text", "unreadable", "too_large", "unsupported")
# The admin's word for each status (``KnowledgeDocument.status``); ``message`` gives the detail.
STATUS_LABELS = {
    "ok": "indexed",
    "encrypted": "encrypted",
    "no_text": "no extractable text",
    "unreadable": "unreadable",
    "too_large": "too large",
    "unsupported": "unsupported",
}

KINDS_BY_SUFFIX = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}
KINDS_BY_TYPE = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
}
_HINTS = {".doc": "save it as .docx", ".rtf": "save it as .docx", ".odt": "save it as .docx"}

# A .docx is a zip: one that inflates to this many times the size limit is refused unread.
_ZIP_EXPANSION = 20
_REASON_CHARS = 200
# NUL cannot be stored in PostgreSQL text; other control characters are extraction noise.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(kw_only=True)
class Extraction:
    status: str  # one of STATUSES
    message: str  # for the admin: "ok", "encrypted", "no extractable text", "unreadable: <reason>", ...
    title: str = ""
    blocks: list[DocBlock] = field(default_factory=list)
    pages: int = 0  # PDF page count; 0 for other formats
    kind: str = ""  # "pdf" | "docx" | "html" | "markdown" | "text"; "" when unsupported

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def document_kind(*, filename: str, content_type: str | None = None) -> str:
    """The format to read a file as: its extension decides, then its declared type; "" if neither."""
    kind = KINDS_BY_SUFFIX.get(PurePosixPath(filename or "").suffix.lower())
    if kind is None and content_type:
        kind = KINDS_BY_TYPE.get(content_type.split(";")[0].strip().lower())
    return kind or ""


def extract_document(
    data: bytes, *, filename: str, content_type: str | None = None, max_bytes: int
) -> Extraction:
    """Read ``data`` (named ``filename``) into blocks with pages and heading paths; never raises."""
    kind = document_kind(filename=filename, content_type=content_type)
    if len(data) > max_bytes:
        refused = too_large(size=len(data), max_bytes=max_bytes)
        refused.kind = kind
        return refused
    if not kind:
        suffix = PurePosixPath(filename or "").suffix.lower() or content_type or "no extension"
        hint = f" ({_HINTS[suffix]})" if suffix in _HINTS else ""
        return Extraction(status="unsupported", message=f"unsupported file type: {suffix}{hint}")
    try:
        if kind == "pdf":
            result = _pdf(data)
        elif kind == "docx":
            result = _docx(data, max_bytes=max_bytes)
        else:
            result = _markup(data, kind=kind, content_type=content_type)
    except Exception as err:  # every parser failure is a status: one bad file must not stop a worker
        result = _unreadable(err)
    result.kind = kind
    if result.status == "ok":
        result.blocks = _clean(result.blocks)
        if not result.blocks:
            result.status, result.message = "no_text", "no extractable text"
        else:
            first = result.blocks[0]
            if not result.title:
                result.title = next((b.text for b in result.blocks if b.kind == "heading"), "")
            elif first.kind == "heading" and first.text.casefold() == result.title.casefold().strip():
                result.blocks.pop(0)  # the title, set large at the top, is not a section
            _set_heading_paths(result.blocks)
    result.title = _CONTROL.sub("", " ".join(result.title.split()))[:255]
    return result


def extraction_segments(extraction: Extraction) -> list[Segment]:
    """Chunking segments of an extraction; PDF block ids carry their page (``d<n>-p<page>``)."""
    return blocks_to_segments(extraction.blocks)


def too_large(*, size: int, max_bytes: int) -> Extraction:
    """The refusal of a file of ``size`` bytes, for callers that know the size before reading it
    (S3's listing), so the message is the same as ``extract_document``'s."""
    return Extraction(status="too_large", message=f"too large: {_mb(size)} > {_mb(max_bytes)}")


def _mb(size: int) -> str:
    """Binary units, as file managers show them (the 10 MiB default limit reads "10.0 MB")."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.1f} kB" if size >= 1024 else f"{size} bytes"


def _unreadable(err: BaseException | str) -> Extraction:
    reason = err if isinstance(err, str) else (str(err).strip() or type(err).__name__)
    reason = " ".join(reason.split())[:_REASON_CHARS]
    return Extraction(status="unreadable", message=f"unreadable: {reason}")


def _clean(blocks: list[DocBlock]) -> list[DocBlock]:
    kept = []
    for block in blocks:
        block.text = " ".join(_CONTROL.sub("", block.text).split())
        block.items = [" ".join(_CONTROL.sub("", item).split()) for item in block.items]
        block.items = [item for item in block.items if item]
        if block.text or block.items:
            kept.append(block)
    return kept


def _set_heading_paths(blocks: list[DocBlock]) -> None:
    stack: list[tuple[int, str]] = []
    for block in blocks:
        if block.kind == "heading":
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            block.heading_path = tuple(text for _, text in stack)
            stack.append((block.level, block.text))
        else:
            block.heading_path = tuple(text for _, text in stack)


# --- PDF ---------------------------------------------------------------------------------------


def _pdf(data: bytes) -> Extraction:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        return _unreadable("not a PDF file")
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except (DependencyError, NotImplementedError) as err:
            return Extraction(status="encrypted", message=f"encrypted ({err})")
        if not opened:
            return Extraction(status="encrypted", message="encrypted")
    pages = len(reader.pages)
    headings = _pdf_outline(reader)
    read: list[tuple[list[str], list[float]]] = []
    failed: list[int] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            read.append(_pdf_page_lines(page))
        except (PyPdfError, *_PAGE_ERRORS):  # one damaged page: keep the others, and say which
            failed.append(number)
            read.append(([], []))
    # Bookmarks are the author's own structure; only a PDF without any is read for large type.
    by_size = {} if headings else _headings_by_font_size(read)
    blocks: list[DocBlock] = []
    for number, (lines, _) in enumerate(read, start=1):
        blocks.extend(
            _pdf_page_blocks(
                lines, page=number, headings=headings.get(number, []), styled=by_size.get(number, {})
            )
        )
    if failed and len(failed) == pages:
        return _unreadable(f"no page could be read ({pages} pages)")
    if not any(b.kind != "heading" for b in blocks):
        return Extraction(status="no_text", message="no extractable text", pages=pages)
    message = f"ok; unreadable pages: {', '.join(map(str, failed))}" if failed else "ok"
    return Extraction(status="ok", message=message, title=_pdf_title(reader), blocks=blocks, pages=pages)


# What a damaged page raises inside pypdf (besides its own ``PyPdfError``). Deliberately not ``Exception``: a Celery soft time
# limit (an ``Exception`` too) must stop the page loop, not be counted as one more bad page.
_PAGE_ERRORS = (
    ArithmeticError,
    AttributeError,
    LookupError,
    TypeError,
    ValueError,
    RecursionError,
    zlib.error,
    struct.error,
)


def _pdf_title(reader) -> str:
    try:
        title = (reader.metadata or {}).get("/Title") or ""
    except Exception:
        return ""
    title = str(title).strip()
    # Word's PDF export leaves "Microsoft Word - terms.docx" behind; that is no title.
    if title.lower().startswith("microsoft word - ") or title.lower() in ("untitled", "untitled document"):
        return ""
    return title


def _pdf_outline(reader) -> dict[int, list[tuple[int, str]]]:
    """Bookmarks as headings, at the top of the page they point to (the only structure a PDF
    reliably has: font sizes are guesswork)."""
    found: dict[int, list[tuple[int, str]]] = {}

    def walk(items, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            number = _destination_page(reader, item)
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if title and number > 0:
                found.setdefault(number, []).append((min(level, 6), title))

    try:
        walk(reader.outline, 1)
    except Exception:
        return {}
    return found


def _destination_page(reader, item) -> int:
    """1-based page a bookmark points to; 0 for a bookmark to nowhere (it is just ignored)."""
    try:
        return reader.get_destination_page_number(item) + 1
    except Exception:
        return 0


def _pdf_page_lines(page) -> tuple[list[str], list[float]]:
    """A page's text lines and the font size each is set in (0.0: unknown), from pypdf's text
    visitor, whose pieces add up to exactly the text it returns."""
    pieces: list[tuple[str, float]] = []

    def visit(text, cm, tm, font, size) -> None:
        # The size on screen: the font size scaled by the text and current transformation matrices.
        scale = abs((tm[0] * tm[3] - tm[1] * tm[2]) * (cm[0] * cm[3] - cm[1] * cm[2])) ** 0.5
        pieces.append((text, float(size or 0) * (scale or 1.0)))

    text = page.extract_text(visitor_text=visit) or ""
    lines = text.split("\n")
    if "".join(piece for piece, _ in pieces) != text:
        return lines, [0.0] * len(lines)
    sizes = [0.0]
    for piece, size in pieces:
        for index, part in enumerate(piece.split("\n")):
            if index:
                sizes.append(0.0)
            if part.strip():
                sizes[-1] = max(sizes[-1], round(size, 1))
    return lines, sizes


def _headings_by_font_size(
    read: list[tuple[list[str], list[float]]],
) -> dict[int, dict[int, tuple[int, str, int]]]:
    """Short lines set well above the body size, which is the size most characters are set in;
    the largest size is level 1. Page -> first line -> (level, text, lines it spans)."""
    weight: dict[float, int] = {}
    for lines, sizes in read:
        for line, size in zip(lines, sizes, strict=True):
            if size:
                weight[size] = weight.get(size, 0) + len(line.strip())
    if not weight:
        return {}
    body = max(weight, key=weight.get)

    def candidate(line: str, size: float) -> bool:
        text = line.strip()
        return (
            size >= body * 1.15
            and 2 <= len(text) <= 120
            and any(ch.isalpha() for ch in text)
            and not text.endswith((".", ",", ";"))
        )

    levels = sorted(
        {
            size
            for lines, sizes in read
            for line, size in zip(lines, sizes, strict=True)
            if candidate(line, size)
        },
        reverse=True,
    )
    rank = {size: min(index + 1, 6) for index, size in enumerate(levels)}
    found: dict[int, dict[int, tuple[int, str, int]]] = {}
    for number, (lines, sizes) in enumerate(read, start=1):
        index = 0
        while index < len(lines):
            if not candidate(lines[index], sizes[index]):
                index += 1
                continue
            span = 1  # a heading wrapped over lines of the same size is one heading
            while (
                index + span < len(lines)
                and sizes[index + span] == sizes[index]
                and candidate(lines[index + span], sizes[index + span])
            ):
                span += 1
            text = " ".join(" ".join(lines[index : index + span]).split())
            found.setdefault(number, {})[index] = (rank[sizes[index]], text, span)
            index += span
    return found


def _pdf_page_blocks(
    lines: list[str],
    *,
    page: int,
    headings: list[tuple[int, str]],
    styled: dict[int, tuple[int, str, int]] | None = None,
) -> list[DocBlock]:
    """A page's lines as paragraphs (blank lines separate them; a hyphen at a line's end joins the
    word), with the page's bookmarks as headings where their title stands on the page, so text
    above a section's heading keeps the previous heading path (a title not found on the page is
    placed at its top), or ``styled`` headings (line -> (level, text, span)) found by font size."""
    lines = [_pdf_normalise(line) for line in lines]
    found: dict[int, tuple[int, str, int]] = dict(styled or {})
    blocks: list[DocBlock] = []
    start = 0
    for level, title in headings:
        at = _find_title(lines, title, start)
        if at is None:
            blocks.append(DocBlock(kind="heading", text=title, level=level, page=page))
            continue
        found[at[0]] = (level, title, at[1])
        start = at[0] + at[1]
    paragraph: list[str] = []
    full_line = _full_line_length(lines)

    def flush() -> None:
        joined = ""
        for line in paragraph:
            line = " ".join(line.split())
            if re.search(r"\w-$", joined) and line[:1].isalpha() and line[:1].islower():
                joined = joined[:-1] + line  # "regis-" + "tered"
            else:
                joined = f"{joined} {line}" if joined else line
        if joined.strip():
            blocks.append(DocBlock(kind="paragraph", text=joined.strip(), page=page))
        paragraph.clear()

    skip = 0
    for index, line in enumerate(lines):
        if skip:
            skip -= 1
            continue
        if index in found:
            flush()
            level, title, span = found[index]
            blocks.append(DocBlock(kind="heading", text=title, level=level, page=page))
            skip = span - 1
        elif not line.strip():
            flush()
        else:
            if _ITEM_START.match(line):
                flush()
            paragraph.append(line)
            if _ends_paragraph(line, full_line):
                flush()
    flush()
    return blocks


_ITEM_START = re.compile(r"^\s*(?:[-\u2022\u25aa*]\s|\d{1,3}[.)]\s|\([a-z0-9]{1,3}\)\s)")


def _full_line_length(lines: list[str]) -> int:
    """The length of a full line of this page's body text (the upper quartile of its lines)."""
    lengths = sorted(len(line.strip()) for line in lines if len(line.strip()) >= 20)
    return lengths[(len(lengths) * 3) // 4] if lengths else 0


def _ends_paragraph(line: str, full_line: int) -> bool:
    """PDFs rarely mark paragraphs (pypdf gives a blank line only for some); the last line of one
    is the sentence end that stops well short of the margin. Reading order is kept as pypdf gives
    it (layout mode would mix the lines of two columns)."""
    text = line.strip()
    return bool(full_line) and text[-1:] in ".!?:" and len(text) < full_line * 0.8


def _pdf_normalise(text: str) -> str:
    """Typesetting left in PDF text: ligatures ("\ufb01nancial" -> "financial", so full-text search
    matches), full-width forms and soft hyphens (NFKC, then U+00AD dropped)."""
    return unicodedata.normalize("NFKC", text).replace("\u00ad", "")


def _find_title(lines: list[str], title: str, start: int) -> tuple[int, int] | None:
    """Where a bookmark's title stands on the page: (line, number of lines: 1, or 2 if wrapped)."""
    wanted = " ".join(title.split()).casefold()
    for index in range(start, len(lines)):
        if " ".join(lines[index].split()).casefold() == wanted:
            return index, 1
        if (
            index + 1 < len(lines)
            and " ".join(f"{lines[index]} {lines[index + 1]}".split()).casefold() == wanted
        ):
            return index, 2
    return None


# --- Word .docx --------------------------------------------------------------------------------

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


def _docx(data: bytes, *, max_bytes: int) -> Extraction:
    import docx
    from docx.table import Table

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return _unreadable("not a Word .docx file (not a zip archive)")
    with archive:
        if "word/document.xml" not in archive.namelist():
            return _unreadable("not a Word .docx file (no word/document.xml)")
        inflated = sum(info.file_size for info in archive.infolist())
        if inflated > max_bytes * _ZIP_EXPANSION:
            message = f"too large: unpacks to {_mb(inflated)} > {_mb(max_bytes * _ZIP_EXPANSION)}"
            return Extraction(status="too_large", message=message)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as err:  # python-docx surfaces damage as assorted lxml/KeyError/AttributeError
        return _unreadable(f"damaged Word file ({type(err).__name__}: {err})")
    blocks: list[DocBlock] = []
    title = ""
    current_list: DocBlock | None = None
    styles: dict[str | None, tuple[str, int]] = {}  # style id -> (name, heading level)
    for item in _docx_body(document):
        if isinstance(item, Table):
            current_list = None
            blocks.extend(_docx_table(item))
            continue
        text = _docx_text(item._p)
        # python-docx resolves a paragraph's style (the default one especially) by scanning every
        # style in the file: once per style id, not per paragraph (1,000 paragraphs: 2 s -> 0.1 s).
        style_id = item._p.style
        if style_id not in styles:
            styles[style_id] = _docx_style(item.style)
        style, level = styles[style_id]
        if style == "Title" and not title:
            title = " ".join(text.split())
            continue
        level = level or _outline_level(item._p.pPr)
        if level:
            current_list = None
            blocks.append(DocBlock(kind="heading", text=text, level=level))
        elif style.lower().startswith("list"):
            ordered = "number" in style.lower()
            if current_list is None or current_list.ordered != ordered:
                current_list = DocBlock(kind="list", ordered=ordered)
                blocks.append(current_list)
            current_list.items.append(text)
        elif text.strip():
            current_list = None
            blocks.append(DocBlock(kind="quote" if "quote" in style.lower() else "paragraph", text=text))
    core_title = (document.core_properties.title or "").strip()
    return Extraction(status="ok", message="ok", title=core_title or title, blocks=blocks)


def _docx_style(style) -> tuple[str, int]:
    """A paragraph style's name and heading level: Heading 1..n by name or id (localised Word
    keeps the id "Heading1"), else the style's outline level; 0 for body text."""
    if style is None:
        return "", 0
    for name in (style.name, style.style_id):
        if match := _HEADING_STYLE.match((name or "").replace("Heading", "heading ").strip()):
            return style.name or "", max(1, min(int(match.group(1)), 6))
    return style.name or "", _outline_level(style.element)


def _outline_level(element) -> int:
    """``w:outlineLvl`` (0-based; 9 is body text) of a paragraph's or style's properties."""
    if element is None:
        return 0
    from docx.oxml.ns import qn

    outline = element.find(f".//{qn('w:outlineLvl')}")
    value = outline.get(qn("w:val")) if outline is not None else None
    if value is not None and value.isdigit() and int(value) < 9:
        return min(int(value) + 1, 6)
    return 0


def _docx_body(document):
    """The body's paragraphs and tables in order, including those inside block-level content
    controls (``w:sdt``: contract templates wrap clauses in them), which python-docx skips."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    tags = {qn("w:p"): Paragraph, qn("w:tbl"): Table}
    sdt, content = qn("w:sdt"), qn("w:sdtContent")

    def walk(element):
        for child in element:
            if child.tag in tags:
                yield tags[child.tag](child, document._body)
            elif child.tag == sdt and (inner := child.find(content)) is not None:
                yield from walk(inner)

    yield from walk(document.element.body)


# Text of a paragraph as Word shows it with changes accepted: runs anywhere inside it (tracked
# insertions, content controls, smart tags, fields' results; python-docx's ``text`` reads only
# direct runs and hyperlinks), but not text moved away (``w:moveFrom``; deleted text is
# ``w:delText`` and never matches) nor the tab stops of the paragraph's properties.
_DOCX_TEXT_XPATH = ".//w:t[not(ancestor::w:moveFrom)] | .//w:tab[not(ancestor::w:pPr)] | .//w:br | .//w:cr"


def _docx_text(element) -> str:
    return "".join(
        node.text or "" if node.tag.endswith("}t") else " " for node in element.xpath(_DOCX_TEXT_XPATH)
    )


def _docx_table(table) -> list[DocBlock]:
    """One paragraph per row, cells joined by " | " (merged cells repeat in python-docx: once)."""
    from docx.oxml.ns import qn

    paragraph = qn("w:p")
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(" ".join(_docx_text(p) for p in cell._tc.iter(paragraph)).split())
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append(DocBlock(kind="paragraph", text=" | ".join(cells)))
    return rows


# --- HTML, Markdown, text ----------------------------------------------------------------------


def _markup(data: bytes, *, kind: str, content_type: str | None) -> Extraction:
    text = _decode(data, content_type=content_type)
    if text is None:
        return _unreadable("not UTF-8 text")
    try:
        title, blocks = parse_document(text, kind=kind)
    except DocumentParseError as err:
        return _unreadable(err)
    return Extraction(status="ok", message="ok", title=title, blocks=blocks)


def _decode(data: bytes, *, content_type: str | None) -> str | None:
    charset = ""
    if content_type and (match := re.search(r"charset=([\w.-]+)", content_type, re.IGNORECASE)):
        charset = match.group(1)
    for encoding in ("utf-8-sig", charset):
        if not encoding:
            continue
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return None
