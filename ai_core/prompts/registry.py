"""Where the live version of each prompt comes from.

The canonical defaults are the YAML files in ``prompts/``. A pluggable ``PROMPT_SOURCE`` (the
admin's published snippets) can override them; ai_core itself never imports the admin code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.utils.module_loading import import_string

from ai_core import conf

from .loader import load_prompt_dir
from .spec import PromptSpec


class UnknownPromptError(LookupError):
    pass


@functools.cache
def yaml_prompts() -> dict[str, PromptSpec]:
    return load_prompt_dir(conf.prompts_dir())


def _override_source() -> Callable[[str], PromptSpec | None] | None:
    path = conf.setting_or_none("PROMPT_SOURCE")
    return import_string(path) if path else None


def get_prompt(key: str) -> PromptSpec:
    source = _override_source()
    if source is not None:
        spec = source(key)
        if spec is not None:
            return spec
    try:
        return yaml_prompts()[key]
    except KeyError as err:
        raise UnknownPromptError(f"unknown prompt key {key!r}") from err


def prompt_keys() -> list[str]:
    return sorted(yaml_prompts())
