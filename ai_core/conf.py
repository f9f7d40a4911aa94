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


class InvalidStreamSettingError(InvalidAICoreSettingError):
    pass


@dataclass(kw_only=True, frozen=True)
class StreamSettings:
    """``AI_CORE["STREAMS"]``: how many answer streams a visitor may hold open at once, and for how
    long. Every open stream is a socket and a Redis connection in a web process; without a cap one
    visitor can hold hundreds."""

    max_per_session: int
    max_per_client: int
    # A counted stream's lease; the relay renews it while open, so a killed process frees its
    # slots after at most this long.
    lease_s: int
    # One connection's longest life; the browser's EventSource then reconnects with Last-Event-ID.
    max_open_s: int
    retry_after_s: int


def stream_settings() -> StreamSettings:
    raw = setting("STREAMS")
    names = ("MAX_PER_SESSION", "MAX_PER_CLIENT", "LEASE_S", "MAX_OPEN_S", "RETRY_AFTER_S")
    values = {}
    for name in names:
        value = raw.get(name) if isinstance(raw, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidStreamSettingError(
                f"AI_CORE['STREAMS'][{name!r}] must be a positive integer, not {value!r}."
            )
        values[name.lower()] = value
    if values["lease_s"] < 15:
        # The relay renews the lease once per Redis wait (up to 10 s); a shorter lease lapses while open.
        raise InvalidStreamSettingError("AI_CORE['STREAMS']['LEASE_S'] must be at least 15 seconds.")
    return StreamSettings(**values)
