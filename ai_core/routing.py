"""Model routing: a prompt names a tier (or a model); settings map tiers to concrete models."""

from __future__ import annotations

from . import conf
from .prompts.spec import PromptSpec

CHEAPER_TIER = {"large": "medium", "medium": "small", "small": "small"}


def route_model(spec: PromptSpec, *, provider_alias: str, tier: str | None = None) -> str:
    tiers = conf.model_tiers().get(provider_alias)
    if not tiers:
        raise conf.InvalidAICoreSettingError(
            f"AI_CORE['MODEL_TIERS'] has no entry for provider {provider_alias!r}."
        )
    # An explicit model is written "provider:model" and applies only to that provider; any other
    # provider (a fallback, the offline mode) routes by tier.
    if spec.model and tier is None:
        provider, _, model = spec.model.partition(":")
        if provider == provider_alias:
            return model
    chosen = tier or spec.tier or "medium"
    try:
        return tiers[chosen]
    except KeyError as err:
        raise conf.InvalidAICoreSettingError(
            f"AI_CORE['MODEL_TIERS'][{provider_alias!r}] has no {chosen!r} tier."
        ) from err


def routing_table() -> list[dict[str, str]]:
    """Rows for the admin: provider, tier, model."""
    return [
        {"provider": alias, "tier": tier, "model": model}
        for alias, tiers in sorted(conf.model_tiers().items())
        for tier, model in tiers.items()
    ]
