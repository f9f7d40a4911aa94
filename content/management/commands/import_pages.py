"""Import existing content as published ArticlePages: Markdown, HTML, or a JSON list.

PATH is a file or a folder of ``.md``/``.markdown``, ``.html``/``.htm`` and ``.json`` files. A
JSON file holds ``[{"title": ..., "body": ..., "slug"?: ..., "intro"?: ...}]``; a body starting
with ``<`` is HTML, anything else Markdown. Bodies are split into heading, paragraph, list and
quote blocks. Every file is parsed before the first page is created, and pages are created in
one transaction, so bad input stores nothing. Pages whose slug already exists under the parent
are skipped, never overwritten. Indexing follows through the normal ``page_published`` hook.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.html import escape
from django.utils.text import slugify
from wagtail.models import Page

from ai_core.rag.api import DocBlock, DocumentParseError, parse_html
from content.markdown import MarkdownImportError, markdown_to_blocks, parse_markdown_document
from content.models import ArticleIndexPage, HomePage
from content.services import article_create_or_skip

MARKDOWN = {".md", ".markdown"}
HTML = {".html", ".htm"}
JSON = {".json"}


@dataclass(kw_only=True)
class Incoming:
    title: str
    slug: str
    intro: str
    blocks: list[dict]
    origin: str


def _raw(block_type: str, value) -> dict:
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


def doc_blocks_to_stream(blocks: list[DocBlock]) -> list[dict]:
    """Neutral document blocks to ArticlePage ``body`` raw data (h1 and h2 both become h2)."""
    stream = []
    for block in blocks:
        if block.kind == "heading":
            stream.append(
                _raw("heading", {"text": block.text[:200], "level": "h3" if block.level >= 3 else "h2"})
            )
        elif block.kind == "list":
            stream.append(_raw("list", {"style": "ol" if block.ordered else "ul", "items": block.items}))
        elif block.kind == "quote":
            stream.append(_raw("quote", {"quote": block.text, "attribution": ""}))
        else:
            stream.append(_raw("paragraph", f"<p>{escape(block.text)}</p>"))
    return stream


def _from_html(text: str, *, origin: str, title: str = "") -> Incoming:
    try:
        html_title, blocks = parse_html(text)
    except DocumentParseError as err:
        raise CommandError(f"{origin}: {err}") from err
    title = title or html_title
    if not title:
        raise CommandError(f"{origin}: no title (a <title>, a first <h1>, or a JSON 'title')")
    return Incoming(
        title=title, slug=slugify(title), intro="", blocks=doc_blocks_to_stream(blocks), origin=origin
    )


def _from_markdown(text: str, *, origin: str, default_title: str = "") -> Incoming:
    try:
        doc = parse_markdown_document(text, default_title=default_title)
    except MarkdownImportError as err:
        raise CommandError(f"{origin}: {err}") from err
    return Incoming(
        title=doc.title, slug=doc.meta.get("slug", ""), intro=doc.intro, blocks=doc.blocks, origin=origin
    )


def _from_json(path: Path) -> list[Incoming]:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CommandError(f"{path}: not valid JSON: {err}") from err
    if not isinstance(items, list):
        raise CommandError(f"{path}: expected a JSON list of {{'title': ..., 'body': ...}} objects")
    pages = []
    for n, item in enumerate(items, start=1):
        origin = f"{path}[{n}]"
        if not isinstance(item, dict) or not isinstance(item.get("title"), str) or not item["title"].strip():
            raise CommandError(f"{origin}: needs a non-empty 'title' string")
        body = item.get("body", "")
        if not isinstance(body, str):
            raise CommandError(f"{origin}: 'body' must be a string (Markdown or HTML)")
        title = item["title"].strip()
        if body.lstrip().startswith("<"):
            incoming = _from_html(body, origin=origin, title=title)
        else:
            incoming = Incoming(
                title=title, slug="", intro="", blocks=markdown_to_blocks(body), origin=origin
            )
        incoming.slug = str(item.get("slug") or "") or slugify(title)
        incoming.intro = str(item.get("intro") or "")
        pages.append(incoming)
    return pages


def read_path(path: Path) -> list[Incoming]:
    if not path.exists():
        raise CommandError(f"{path} does not exist")
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    supported = [p for p in files if p.suffix.lower() in MARKDOWN | HTML | JSON]
    if not supported:
        raise CommandError(f"{path}: no .md, .html or .json files to import")
    pages: list[Incoming] = []
    for file in supported:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise CommandError(f"{file}: cannot read as UTF-8 text: {err}") from err
        suffix = file.suffix.lower()
        if suffix in JSON:
            pages.extend(_from_json(file))
        elif suffix in HTML:
            pages.append(_from_html(text, origin=str(file)))
        else:
            incoming = _from_markdown(text, origin=str(file))
            incoming.slug = incoming.slug or file.stem
            pages.append(incoming)
    for page in pages:
        page.slug = slugify(page.slug or page.title)
        if not page.slug:
            raise CommandError(f"{page.origin}: cannot make a URL slug from title {page.title!r}")
        if not page.blocks:
            raise CommandError(f"{page.origin}: the body is empty")
    return pages


def find_parent(slug: str) -> Page:
    candidates = list(Page.objects.filter(slug=slug).type(ArticleIndexPage, HomePage))
    if not candidates:
        raise CommandError(f"--parent {slug!r}: no section or home page has this slug")
    if len(candidates) > 1:
        ids = ", ".join(str(p.pk) for p in candidates)
        raise CommandError(f"--parent {slug!r} is ambiguous (pages {ids}); rename one of them")
    return candidates[0].specific


class Command(BaseCommand):
    help = "Import Markdown, HTML or JSON ({title, body}) files as published ArticlePages under a parent."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--parent", required=True, metavar="SLUG", help="Slug of the section (or home) page."
        )

    def handle(self, *args, path: Path, parent: str, **options):
        parent_page = find_parent(parent)
        pages = read_path(path)
        slugs = [p.slug for p in pages]
        duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
        if duplicates:
            raise CommandError(f"the input has several pages with slug(s) {', '.join(duplicates)}")
        created = skipped = 0
        with transaction.atomic():
            for incoming in pages:
                page, was_created = article_create_or_skip(
                    parent=parent_page,
                    title=incoming.title[:255],
                    slug=incoming.slug,
                    intro=incoming.intro,
                    blocks=incoming.blocks,
                )
                created += was_created
                skipped += not was_created
                state = "created" if was_created else "exists, skipped"
                self.stdout.write(f"  {incoming.slug}: {state} (page {page.pk})")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {created} page(s) under {parent_page.title!r}; {skipped} already present."
            )
        )
