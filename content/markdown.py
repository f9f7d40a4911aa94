"""Turn a small, predictable Markdown dialect into ArticlePage body blocks.

Used by ``load_demo_content`` and by content imports. Only what editors' source documents
actually contain is supported: ``##``/``###`` headings, paragraphs, ``-``/``1.`` lists and ``>``
quotes. Anything else is kept as paragraph text rather than dropped, so nothing is lost silently.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from django.utils.html import escape

HEADING_RE = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
BULLET_RE = re.compile(r"^\s*[-*+]\s+(.*\S)\s*$")
NUMBERED_RE = re.compile(r"^\s*\d+[.)]\s+(.*\S)\s*$")
QUOTE_RE = re.compile(r"^>\s?(.*)$")
FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


class MarkdownImportError(ValueError):
    pass


@dataclass(kw_only=True)
class ParsedDocument:
    title: str
    intro: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    blocks: list[dict] = field(default_factory=list)


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    match = FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise MarkdownImportError(f"front matter line is not 'key: value': {line!r}")
        meta[key.strip()] = value.strip().strip('"').strip("'")
    return meta, text[match.end() :]


def _block(block_type: str, value) -> dict:
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


def _paragraph(lines: list[str]) -> dict:
    text = " ".join(line.strip() for line in lines)
    return _block("paragraph", f"<p>{escape(text)}</p>")


def _quote(lines: list[str]) -> dict:
    text = " ".join(line.strip() for line in lines).strip()
    quote, sep, attribution = text.rpartition(" — ")
    if not sep:
        quote, attribution = text, ""
    return _block("quote", {"quote": quote.strip(), "attribution": attribution.strip()})


def markdown_to_blocks(body: str) -> list[dict]:
    """Return raw StreamField data (``type``/``value``/``id`` dicts) for ``ArticleBodyBlock``."""
    blocks: list[dict] = []
    paragraph: list[str] = []
    quote: list[str] = []
    list_items: list[str] = []
    list_style = ""

    def flush() -> None:
        nonlocal paragraph, quote, list_items, list_style
        if paragraph:
            blocks.append(_paragraph(paragraph))
        if quote:
            blocks.append(_quote(quote))
        if list_items:
            blocks.append(_block("list", {"style": list_style, "items": list_items}))
        paragraph, quote, list_items, list_style = [], [], [], ""

    for line in body.splitlines():
        if not line.strip():
            flush()
            continue
        if heading := HEADING_RE.match(line):
            flush()
            level = "h3" if len(heading.group(1)) >= 3 else "h2"
            blocks.append(_block("heading", {"text": heading.group(2), "level": level}))
            continue
        bullet, numbered = BULLET_RE.match(line), NUMBERED_RE.match(line)
        if bullet or numbered:
            style = "ul" if bullet else "ol"
            if paragraph or quote or (list_items and style != list_style):
                flush()
            list_style = style
            list_items.append((bullet or numbered).group(1))
            continue
        if quoted := QUOTE_RE.match(line):
            if paragraph or list_items:
                flush()
            quote.append(quoted.group(1))
            continue
        if list_items:  # a continuation line of the last list item
            list_items[-1] = f"{list_items[-1]} {line.strip()}"
            continue
        paragraph.append(line)
    flush()
    return blocks


def parse_markdown_document(text: str, *, default_title: str = "") -> ParsedDocument:
    meta, body = parse_front_matter(text)
    title = meta.get("title") or default_title
    if not title:
        heading = next(
            (m for m in map(HEADING_RE.match, body.splitlines()) if m and len(m.group(1)) == 1), None
        )
        title = heading.group(2) if heading else ""
        if heading:
            body = body.replace(heading.group(0), "", 1)
    if not title:
        raise MarkdownImportError("document has no title (front matter 'title' or a '# ' heading)")
    return ParsedDocument(
        title=title, intro=meta.get("intro", ""), meta=meta, blocks=markdown_to_blocks(body)
    )
