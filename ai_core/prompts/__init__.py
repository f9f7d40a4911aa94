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
