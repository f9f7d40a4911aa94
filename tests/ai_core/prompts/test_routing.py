"""Model routing: tiers per task, explicit models, the medium default, and the table the admin shows."""

from __future__ import annotations

import dataclasses

import pytest

from ai_core.routing import route_model, routing_table


@pytest.mark.parametrize(
    ("key", "tier", "anthropic_model"),
    [
        ("content_classify", "small", "claude-haiku-4-5"),
        ("page_summary", "medium", "claude-sonnet-4-6"),
        ("rag_answer", "medium", "claude-sonnet-4-6"),
        ("contract_analysis", "large", "claude-opus-4-8"),
    ],
)
def test_tasks_route_to_their_tier(yaml_spec, key: str, tier: str, anthropic_model: str) -> None:
    spec = yaml_spec(key)
    assert spec.tier == tier
    assert route_model(spec, provider_alias="anthropic") == anthropic_model
    assert route_model(spec, provider_alias="local") == "extractive-minilm"


def test_an_unrouted_prompt_uses_the_medium_tier(yaml_spec) -> None:
    from ai_core.prompts.spec import PromptSpec

    data = yaml_spec("rag_answer").to_dict()
    data.pop("tier")
    spec = PromptSpec.from_dict(data)
    assert spec.tier == "medium"
    assert route_model(spec, provider_alias="openai") == "gpt-4o-mini"


def test_an_explicit_model_applies_only_to_its_own_provider(yaml_spec) -> None:
    spec = dataclasses.replace(yaml_spec("rag_answer"), model="anthropic:claude-opus-4-8")
    assert route_model(spec, provider_alias="anthropic") == "claude-opus-4-8"
    assert route_model(spec, provider_alias="openai") == "gpt-4o-mini"  # falls back to the tier


def test_a_cheaper_tier_can_be_forced(yaml_spec) -> None:
    assert (
        route_model(yaml_spec("contract_analysis"), provider_alias="anthropic", tier="small")
        == "claude-haiku-4-5"
    )


def test_the_routing_table_has_every_provider_and_tier() -> None:
    rows = {(row["provider"], row["tier"]): row["model"] for row in routing_table()}
    for provider in ("anthropic", "openai", "local"):
        assert {tier for (p, tier) in rows if p == provider} == {"small", "medium", "large"}
