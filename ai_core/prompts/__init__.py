"""Prompt specs as code: parse and validate a spec, render it with escaped data, run golden checks.
Plain Python (no Django, no models: import-linter checks it). The YAML prompts themselves are data in
the repository's top-level ``prompts/`` folder; published versions come from ``ai_core.live_prompts``."""

from .render import PromptRenderError, RenderedPrompt, render_template
from .spec import GoldenCase, PromptSpec, PromptValidationError

__all__ = [
    "GoldenCase",
    "PromptRenderError",
    "PromptSpec",
    "PromptValidationError",
    "RenderedPrompt",
    "render_template",
]
