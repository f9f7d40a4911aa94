"""Render retrieved sources into delimited blocks the system prompt tells the model to treat as data."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ai_core.providers.base import Source

NO_SOURCES = "(no sources were found for this question)"


def format_sources(sources: Sequence[Source]) -> str:
    if not sources:
        return NO_SOURCES
    blocks = []
    for source in sources:
        # Escaping angle brackets means a page cannot close the <source> block and "speak" as the
        # prompt author; the text reads the same to the model.
        body = escape(source.text, quote=False)
        title = escape(source.title, quote=True)
        blocks.append(f'<source id="{source.number}" title="{title}">\n{body}\n</source>')
    return "\n".join(blocks)
