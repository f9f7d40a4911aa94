"""Context builders fill a prompt's system variables (retrieved sources, page title).

They are looked up per prompt key in ``AI_CORE["CONTEXT_BUILDERS"]`` so retrieval (and anything
page-specific) plugs in without ai_core importing the content app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.module_loading import import_string

from . import conf
from .prompts.sources import format_sources
from .providers.base import Source


@dataclass(kw_only=True)
class PromptContext:
    sources: list[Source] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


ContextBuilder = Callable[..., PromptContext]


def build_context(*, request, spec) -> PromptContext:
    path = (conf.setting_or_none("CONTEXT_BUILDERS") or {}).get(spec.key)
    context = import_string(path)(request=request, spec=spec) if path else PromptContext()
    values = dict(context.values)
    if "sources" in spec.system_variables:
        values["sources"] = format_sources(context.sources)
    for name in spec.system_variables:
        values.setdefault(name, "")
    return PromptContext(sources=context.sources, values=values)
