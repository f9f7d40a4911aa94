"""Text, Markdown and HTML into a neutral list of blocks (headings, paragraphs, lists, quotes).

Pure Python (stdlib ``html.parser``). Two consumers: S3 ingest turns the blocks into chunking
``Segment``s, and ``import_pages`` turns them into ArticlePage StreamField blocks, so an HTML page
and an S3 HTML object are read the same way.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .chunking import Segment


class DocumentParseError(ValueError):
    pass


@dataclass(kw_only=True)
class DocBlock:
    kind: str  # "heading" | "paragraph" | "list" | "quote"
    text: str = ""
    level: int = 0  # headings: 1-6
    items: list[str] = field(default_factory=list)
    ordered: bool = False
    # Where the block sits, for citations: the 1-based PDF page (None for formats without pages)
    # and the headings above it (set by ``ai_core.rag.extract``; the parsers here leave it empty).
    page: int | None = None
    heading_path: tuple[str, ...] = ()


_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "footer", "br", "tr", "table", "pre"}
_SKIP_TAGS = {"script", "style", "noscript", "template", "nav", "svg", "head"}


class _HTMLBlocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[DocBlock] = []
        self.title = ""
        self._buffer: list[str] = []
        self._skip = 0
        self._in_title = False
        self._heading = 0
        self._lists: list[DocBlock] = []
        self._item: list[str] | None = None
        self._quote = 0

    def _text(self) -> str:
        text = " ".join("".join(self._buffer).split())
        self._buffer = []
        return text

    def _flush(self) -> None:
        text = self._text()
        if not text:
            return
        if self._heading:
            self.blocks.append(DocBlock(kind="heading", text=text, level=self._heading))
        elif self._quote:
            self.blocks.append(DocBlock(kind="quote", text=text))
        else:
            self.blocks.append(DocBlock(kind="paragraph", text=text))

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag in ("ul", "ol"):
            self._flush()
            self._lists.append(DocBlock(kind="list", ordered=tag == "ol"))
        elif tag == "li":
            self._flush()
            self._item = []
        elif tag == "blockquote":
            self._flush()
            self._quote += 1
        elif tag in _BLOCK_TAGS and self._item is None:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = 0
        elif tag == "li" and self._item is not None:
            text = " ".join("".join(self._buffer).split())
            self._buffer = []
            if text and self._lists:
                self._lists[-1].items.append(text)
            elif text:
                self.blocks.append(DocBlock(kind="paragraph", text=text))
            self._item = None
        elif tag in ("ul", "ol") and self._lists:
            done = self._lists.pop()
            if done.items:
                self.blocks.append(done)
        elif tag == "blockquote":
            self._flush()
            self._quote = max(0, self._quote - 1)
        elif tag in _BLOCK_TAGS and self._item is None:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._buffer.append(data)


def parse_html(source: str) -> tuple[str, list[DocBlock]]:
    """Return ``(title, blocks)``; the title is ``<title>`` or the first ``<h1>``."""
    parser = _HTMLBlocks()
    try:
        parser.feed(source)
        parser.close()
    except Exception as err:  # html.parser raises assorted errors on broken markup
        raise DocumentParseError(f"cannot parse HTML: {err}") from err
    parser._flush()
    title = " ".join(parser.title.split())
    blocks = parser.blocks
    if not title and blocks and blocks[0].kind == "heading" and blocks[0].level == 1:
        title, blocks = blocks[0].text, blocks[1:]
    return title, blocks


def html_to_text(source: str) -> str:
    """Rich text HTML to plain text with one paragraph per line (for chunking)."""
    _, blocks = parse_html(source)
    lines = []
    for block in blocks:
        lines.extend(block.items if block.kind == "list" else [block.text])
    return "\n".join(lines) if lines else html.unescape(re.sub(r"<[^>]+>", " ", source)).strip()


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_ITEM = re.compile(r"^\s*(?:([-*+])|(\d+)[.)])\s+(.*\S)\s*$")


def parse_markdown(source: str) -> tuple[str, list[DocBlock]]:
    """Headings, paragraphs, lists and quotes; anything else is kept as paragraph text."""
    blocks: list[DocBlock] = []
    paragraph: list[str] = []
    current_list: DocBlock | None = None
    quote: list[str] = []

    def flush() -> None:
        nonlocal paragraph, current_list, quote
        if paragraph:
            blocks.append(DocBlock(kind="paragraph", text=" ".join(paragraph)))
        if quote:
            blocks.append(DocBlock(kind="quote", text=" ".join(quote)))
        if current_list and current_list.items:
            blocks.append(current_list)
        paragraph, current_list, quote = [], None, []

    for raw in source.splitlines():
        line = raw.strip()
        if not line or line.startswith("```") or re.fullmatch(r"[-*_]{3,}", line):
            flush()
            continue
        if heading := _MD_HEADING.match(line):
            flush()
            blocks.append(DocBlock(kind="heading", text=heading.group(2), level=len(heading.group(1))))
        elif item := _MD_ITEM.match(raw):
            if paragraph or quote or (current_list and current_list.ordered != bool(item.group(2))):
                flush()
            current_list = current_list or DocBlock(kind="list", ordered=bool(item.group(2)))
            current_list.items.append(item.group(3))
        elif line.startswith(">"):
            if paragraph or current_list:
                flush()
            quote.append(line.lstrip("> ").strip())
        elif current_list:
            current_list.items[-1] += f" {line}"
        else:
            paragraph.append(line)
    flush()
    title = ""
    if blocks and blocks[0].kind == "heading" and blocks[0].level == 1:
        title, blocks = blocks[0].text, blocks[1:]
    return title, blocks


def parse_document(source: str, *, kind: str) -> tuple[str, list[DocBlock]]:
    """``kind``: "html", "markdown" or "text" (blank lines separate paragraphs)."""
    if kind == "html":
        return parse_html(source)
    if kind == "markdown":
        return parse_markdown(source)
    if kind == "text":
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", source)]
        return "", [DocBlock(kind="paragraph", text=p) for p in paragraphs if p]
    raise DocumentParseError(f"unsupported document kind {kind!r}")


def blocks_to_segments(blocks: list[DocBlock]) -> list[Segment]:
    """Documents have no block UUIDs; ``d<n>`` ids still tell citations which part was used.

    A block with a page gets the id ``d<n>-p<page>`` (``page_of_block_ids`` reads it back, so a
    stored chunk can cite ``#page=N`` without a column of its own), and a new page starts a new
    chunk: a passage is cited to the one page it came from.
    """
    segments = []
    previous_page: int | None = None
    for n, block in enumerate(blocks):
        block_id = f"d{n}" if block.page is None else f"d{n}-p{block.page}"
        new_page = block.page is not None and previous_page is not None and block.page != previous_page
        previous_page = block.page if block.page is not None else previous_page
        if block.kind == "heading":
            segments.append(Segment(block_id=block_id, text=block.text, heading_level=block.level))
        elif block.kind == "list":
            segments.append(Segment(block_id=block_id, units=tuple(block.items), break_before=new_page))
        else:
            segments.append(Segment(block_id=block_id, text=block.text, break_before=new_page))
    return segments


_PAGE_ID = re.compile(r"^d\d+-p(\d+)$")


def page_of_block_ids(block_ids) -> int | None:
    """The PDF page a chunk's text is on, from its block ids (``None``: no page).

    The last id with a page wins: chunks never straddle pages, but one may start with the id of
    a heading at the foot of the previous page.
    """
    page = None
    for block_id in block_ids or ():
        if match := _PAGE_ID.match(block_id or ""):
            page = int(match.group(1))
    return page
