"""``AI_CORE["PROMPT_SOURCE"]``: the live (published) prompt snippet, cached in process.

A key with no live snippet returns ``None`` so the registry falls back to the YAML default.
"""

from __future__ import annotations

from ai_core.prompts.spec import PromptSpec

from .cache import StampedCache, check_seconds


def load_live_prompt(key: str) -> PromptSpec | None:
    """Read straight from the database: the snippet row holds the live content, drafts do not."""
    from ai_core.models import PromptTemplate

    row = PromptTemplate.objects.filter(key=key, live=True).first()
    return row.to_spec() if row is not None else None


_live = StampedCache(load_live_prompt, check_seconds=check_seconds)


def live_prompt(key: str) -> PromptSpec | None:
    return _live.get(key)


def clear_live_prompts() -> None:
    """Forget this process's cached prompts (tests; the stamp handles everything else)."""
    _live.clear()
