"""Render retrieved sources into delimited blocks the system prompt tells the model to treat as data."""

from __future__ import annotations

from collections.abc import Sequence

from ai_core.providers.base import Source

from .render import PromptMarkup, escape_attribute, escape_data

NO_SOURCES = "(no sources were found for this question)"


def format_sources(sources: Sequence[Source]) -> PromptMarkup:
    if not sources:
        return PromptMarkup(NO_SOURCES)
    blocks = []
    for source in sources:
        # Escaping angle brackets means a page cannot close the <source> block and "speak" as the
        # prompt author; the text reads the same to the model. The same escaping as every visitor
        # field (render.escape_data), so neither can forge the other's blocks.
        body = escape_data(source.text)
        title = escape_attribute(source.title)
        blocks.append(f'<source id="{source.number}" title="{title}">\n{body}\n</source>')
    return PromptMarkup("\n".join(blocks))
