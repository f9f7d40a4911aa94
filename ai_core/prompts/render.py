"""Strict prompt rendering.

``{{ name }}`` placeholders are replaced in a single pass, so a value that itself contains
``{{ x }}``, ``$x`` or braces is inserted as data and never re-interpreted. A missing value is an
error naming every missing variable: ``string.Template.safe_substitute`` would silently leave
``$var`` in the prompt and send it to the model.

Every value is data, escaped here the way retrieved sources are (``escape_data``): a visitor's
question or payload field cannot close its ``<question>`` block or open a ``<source>`` block of its
own. Only text built by our own code as delimited blocks (``PromptMarkup``, e.g. the formatted
sources, whose texts were escaped when the blocks were built) goes in as is. Escaping in this one
place means a new prompt or a new payload field is covered without anyone remembering to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

# "&" too, so an entity the visitor wrote (``&lt;source&gt;``) stays visibly theirs and cannot be
# read as one of our escapes; then the brackets and the characters a model may read as brackets.
_ESCAPES = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    0xFF1C: "&#xFF1C;",  # FULLWIDTH LESS-THAN SIGN
    0xFF1E: "&#xFF1E;",
    0xFE64: "&#xFE64;",  # SMALL LESS-THAN SIGN
    0xFE65: "&#xFE65;",
    0x2039: "&#x2039;",  # SINGLE LEFT-POINTING ANGLE QUOTATION MARK
    0x203A: "&#x203A;",
    0x2329: "&#x2329;",  # LEFT-POINTING ANGLE BRACKET
    0x232A: "&#x232A;",
    0x27E8: "&#x27E8;",  # MATHEMATICAL LEFT ANGLE BRACKET
    0x27E9: "&#x27E9;",
    0x3008: "&#x3008;",  # LEFT ANGLE BRACKET (CJK)
    0x3009: "&#x3009;",
}


class PromptMarkup(str):
    """Text our own code assembled as delimited blocks; rendering inserts it unescaped.

    Never wrap visitor or page text in it: build the blocks from ``escape_data`` parts instead.
    """

    __slots__ = ()


def escape_data(value: object) -> str:
    """Text as inert data inside a prompt's delimited blocks: no tag, no tag lookalike survives,
    and the text still reads the same to a model."""
    return str(value).translate(_ESCAPES)


def escape_attribute(value: object) -> str:
    """``escape_data`` for a double-quoted attribute value (a source's title)."""
    return escape_data(value).replace('"', "&quot;")


def _as_prompt_text(value: object) -> str:
    return value if isinstance(value, PromptMarkup) else escape_data(value)


class PromptRenderError(ValueError):
    def __init__(self, message: str, *, missing: list[str] | None = None):
        super().__init__(message)
        self.missing = missing or []


@dataclass(kw_only=True, frozen=True)
class RenderedPrompt:
    system: str
    user: str


def placeholders(template: str) -> list[str]:
    """Variable names used in ``template``, in order of first use."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER_RE.finditer(template):
        seen.setdefault(match.group(1))
    return list(seen)


def render_template(template: str, values: Mapping[str, object]) -> str:
    missing = [name for name in placeholders(template) if name not in values or values[name] is None]
    if missing:
        raise PromptRenderError(f"missing prompt variable(s): {', '.join(missing)}", missing=missing)
    return PLACEHOLDER_RE.sub(lambda match: _as_prompt_text(values[match.group(1)]), template)
