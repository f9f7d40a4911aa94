"""The demo site's documents, generated from the project's own text: nothing is downloaded.

Three PDFs and one Word file, written from Markdown in this folder (fpdf2 for the PDFs,
python-docx for the Word file) with fixed dates, so the same text always gives the same bytes and
the same content hash; re-running ``load_demo_content`` therefore re-embeds nothing.

- the Customer Handbook (PDF, about a dozen pages): the demo's guides, one after another;
- the Plan and Fee Schedule 2026 (PDF, one section per page): add-on and service prices that no
  page states, so a question about them can only be answered, and cited, from the PDF's page;
- the Reseller Agreement Template (.docx): headings as Word styles;
- the Incident Response Runbook (PDF) in a private collection: staff only, never in answers.

Each ``DemoDocument`` says which articles link it and a question only it answers (the demo's
walk-through and the tests use both). The text sources live in ``_documents/`` (and ``guides/``);
``load_demo_content`` skips folders whose name starts with "_", so they are not also articles.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from content.markdown import parse_front_matter

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "_documents"
PUBLIC_COLLECTION = "Demo documents"
PRIVATE_COLLECTION = "Internal"

_FIXED_DATE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_ZIP_TIME = (2026, 1, 5, 9, 0, 0)
# fpdf2's core fonts are Latin-1; the demo text uses a few typographic characters beyond it.
_LATIN1 = str.maketrans(
    {"\u2014": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
)


@dataclass(frozen=True, kw_only=True)
class DemoDocument:
    filename: str
    title: str
    data: bytes
    collection: str
    private: bool
    link_from: tuple[str, ...]  # "section/slug" of the demo articles that link it
    question: str  # a question this document answers ("" if the pages answer it as well)
    answer_phrase: str  # words of the answer, as they stand in the document

    @property
    def content_type(self) -> str:
        if self.filename.endswith(".pdf"):
            return "application/pdf"
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@lru_cache(maxsize=1)
def demo_documents() -> tuple[DemoDocument, ...]:
    """Every demo document, generated once per process (a few hundred milliseconds)."""
    schedule = _source("plan-and-fee-schedule.md")
    reseller = _source("reseller-agreement-template.md")
    runbook = _source("incident-response-runbook.md")
    guides = sorted(p for p in (HERE / "guides").glob("*.md") if p.name != "_index.md")
    return (
        DemoDocument(
            filename="northwind-plan-and-fee-schedule-2026.pdf",
            title=schedule.title,
            data=pdf_from_markdown([schedule], title=schedule.title, section_per_page=True),
            collection=PUBLIC_COLLECTION,
            private=False,
            link_from=("legal/terms-of-service", "faqs/billing-faq"),
            question="How much does the payroll add-on cost per employee?",
            answer_phrase="1.50 pounds per employee paid in the month",
        ),
        DemoDocument(
            filename="northwind-customer-handbook.pdf",
            title="Northwind Ledger Customer Handbook",
            data=pdf_from_markdown(
                [_source(path) for path in guides], title="Northwind Ledger Customer Handbook", parts=True
            ),
            collection=PUBLIC_COLLECTION,
            private=False,
            link_from=("guides/onboarding-a-new-account",),
            question="",
            answer_phrase="",
        ),
        DemoDocument(
            filename="northwind-reseller-agreement-template.docx",
            title=reseller.title,
            data=docx_from_markdown(reseller),
            collection=PUBLIC_COLLECTION,
            private=False,
            link_from=("legal/intellectual-property-and-licensing",),
            question="What margin does a reseller earn on its first 50 client workspaces?",
            answer_phrase="The reseller margin is 20 per cent of the list price",
        ),
        DemoDocument(
            filename="northwind-incident-response-runbook.pdf",
            title=runbook.title,
            data=pdf_from_markdown([runbook], title=runbook.title, section_per_page=True),
            collection=PRIVATE_COLLECTION,
            private=True,
            link_from=("faqs/security-faq",),
            question="What is the incident bridge dial-in code?",
            answer_phrase="4471 9023",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class Source:
    title: str
    intro: str
    body: str


def _source(name: str | Path) -> Source:
    path = name if isinstance(name, Path) else SOURCES / name
    meta, body = parse_front_matter(path.read_text(encoding="utf-8"))
    return Source(title=meta.get("title", path.stem), intro=meta.get("intro", ""), body=body)


def _items(body: str) -> Iterator[tuple[str, str]]:
    """The demo Markdown dialect (as ``content.markdown``): ("h2" | "h3" | "p" | "bullet" |
    "number" | "quote", text), paragraphs joined across lines, inline emphasis dropped."""
    paragraph: list[str] = []

    def flush() -> Iterator[tuple[str, str]]:
        if paragraph:
            yield "p", " ".join(paragraph)
            paragraph.clear()

    for raw in body.splitlines():
        line = re.sub(r"\*\*|__|`", "", raw.strip())
        line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)
        if not line:
            yield from flush()
        elif match := re.match(r"^(#{2,3})\s+(.*)$", line):
            yield from flush()
            yield f"h{len(match.group(1))}", match.group(2)
        elif match := re.match(r"^[-*+]\s+(.*)$", line):
            yield from flush()
            yield "bullet", match.group(1)
        elif match := re.match(r"^\d+[.)]\s+(.*)$", line):
            yield from flush()
            yield "number", match.group(1)
        elif line.startswith(">"):
            yield from flush()
            yield "quote", line.lstrip("> ")
        else:
            paragraph.append(line)
    yield from flush()


def pdf_from_markdown(
    sources: list[Source], *, title: str, parts: bool = False, section_per_page: bool = False
) -> bytes:
    """A PDF with real text, bookmarks at each heading (as Word's export writes them) and fixed
    dates. ``parts``: each source is a chapter (its title a level-1 heading on a new page, its
    sections level 2). ``section_per_page``: each section starts a new page."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(title)
    pdf.set_author("Northwind Ledger Ltd")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    width = 170

    def text(value: str) -> str:
        return value.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    def heading(value: str, *, level: int, size: int) -> None:
        pdf.start_section(text(value), level=level - 1, strict=False)
        pdf.set_font("Helvetica", style="B", size=size)
        pdf.multi_cell(w=width, h=size * 0.5, text=text(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font("Helvetica", size=11)

    def body(value: str, *, indent: float = 0, style: str = "") -> None:
        pdf.set_font("Helvetica", style=style, size=11)
        pdf.set_x(20 + indent)
        pdf.multi_cell(w=width - indent, h=5.5, text=text(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(5.5)  # a blank line, so the extracted text keeps its paragraphs apart
        pdf.set_font("Helvetica", size=11)

    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=20)
    pdf.multi_cell(w=width, h=10, text=text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    if not parts and sources[0].intro:
        body(sources[0].intro, style="I")
    for index, source in enumerate(sources):
        if parts:
            if index:
                pdf.add_page()
            heading(source.title, level=1, size=16)
            if source.intro:
                body(source.intro, style="I")
        number = 0
        first_section = True
        for kind, value in _items(source.body):
            if kind in ("h2", "h3"):
                level = (2 if kind == "h2" else 3) - (0 if parts else 1)
                if section_per_page and kind == "h2" and not first_section:
                    pdf.add_page()
                first_section = False
                number = 0
                heading(value, level=level, size=14 if kind == "h2" else 12)
            elif kind == "bullet":
                body(f"- {value}", indent=5)
            elif kind == "number":
                number += 1
                body(f"{number}. {value}", indent=5)
            elif kind == "quote":
                body(value, indent=8, style="I")
            else:
                body(value)
    return bytes(pdf.output())


def docx_from_markdown(source: Source) -> bytes:
    """A Word file: the title in the Title style and the core properties, sections as Heading 1
    and 2, lists in Word's list styles; fixed dates and zip times, so the bytes never change."""
    import docx

    document = docx.Document()
    document.add_paragraph(source.title, style="Title")
    if source.intro:
        document.add_paragraph(source.intro, style="Subtitle")
    for kind, value in _items(source.body):
        if kind in ("h2", "h3"):
            document.add_heading(value, level=1 if kind == "h2" else 2)
        elif kind == "bullet":
            document.add_paragraph(value, style="List Bullet")
        elif kind == "number":
            document.add_paragraph(value, style="List Number")
        elif kind == "quote":
            document.add_paragraph(value, style="Quote")
        else:
            document.add_paragraph(value)
    props = document.core_properties
    props.title = source.title
    props.author = props.last_modified_by = "Northwind Ledger Ltd"
    props.created = props.modified = _FIXED_DATE.replace(tzinfo=None)
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            target.writestr(member, source.read(info.filename))
    return out.getvalue()


def write_demo_documents(directory: Path) -> list[Path]:
    """Write the files to ``directory`` (to open them, or to upload them by hand)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for doc in demo_documents():
        path = directory / doc.filename
        path.write_bytes(doc.data)
        written.append(path)
    return written
