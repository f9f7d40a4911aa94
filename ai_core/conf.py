"""Typed access to the ``AI_CORE`` setting: the only place that reads it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class InvalidAICoreSettingError(ImproperlyConfigured):
    pass


@dataclass(kw_only=True, frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal


def _raw() -> dict[str, Any]:
    value = getattr(settings, "AI_CORE", None)
    if not isinstance(value, dict):
        raise InvalidAICoreSettingError("AI_CORE must be a dict (see site_config/settings/ai.py).")
    return value


def setting(name: str) -> Any:
    try:
        return _raw()[name]
    except KeyError as err:
        raise InvalidAICoreSettingError(f"AI_CORE[{name!r}] is not set.") from err


def provider_configs() -> dict[str, dict]:
    return setting("GENERATION_PROVIDERS")


def embedder_configs() -> dict[str, dict]:
    return setting("EMBEDDERS")


def default_generation_alias() -> str:
    return setting("DEFAULT_GENERATION_PROVIDER")


def default_embedder_alias() -> str:
    return setting("DEFAULT_EMBEDDER")


def model_tiers() -> dict[str, dict[str, str]]:
    return setting("MODEL_TIERS")


def prompts_dir() -> Path:
    return Path(setting("PROMPTS_DIR"))


def price_for(model: str) -> ModelPrice:
    prices = setting("PRICES")
    if model not in prices:
        raise InvalidAICoreSettingError(
            f"AI_CORE['PRICES'] has no entry for model {model!r}; add one so its calls can be costed."
        )
    entry = prices[model]
    try:
        return ModelPrice(
            **{part: Decimal(str(entry[part])) for part in ("input", "output", "cache_read", "cache_write")}
        )
    except (KeyError, ArithmeticError) as err:
        raise InvalidAICoreSettingError(
            f"AI_CORE['PRICES'][{model!r}] needs decimal 'input', 'output', 'cache_read' and 'cache_write'."
        ) from err


def setting_or_none(name: str) -> Any:
    return _raw().get(name)
