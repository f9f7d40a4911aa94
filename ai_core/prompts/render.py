"""Strict prompt rendering.

``{{ name }}`` placeholders are replaced in a single pass, so a value that itself contains
``{{ x }}``, ``$x`` or braces is inserted as data and never re-interpreted. A missing value is an
error naming every missing variable: ``string.Template.safe_substitute`` would silently leave
``$var`` in the prompt and send it to the model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


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
    return PLACEHOLDER_RE.sub(lambda match: str(values[match.group(1)]), template)
