from decimal import Decimal

import pytest

from ai_core.conf import InvalidAICoreSettingError
from ai_core.pricing import cost_usd
from ai_core.providers.base import Usage


def test_every_token_kind_is_priced_separately():
    usage = Usage(input_tokens=1000, output_tokens=500, cache_read_tokens=2000, cache_write_tokens=100)
    # Sonnet: 3 in, 15 out, 0.30 cache read, 3.75 cache write (USD per million tokens).
    assert cost_usd(model="claude-sonnet-4-5", usage=usage) == Decimal("0.011475")


def test_cost_is_exact_decimal_not_float():
    usage = Usage(input_tokens=1, output_tokens=0)
    assert cost_usd(model="claude-haiku-4-5", usage=usage) == Decimal("0.00000100")


def test_local_models_cost_nothing():
    assert cost_usd(model="extractive-minilm", usage=Usage(input_tokens=10**6, output_tokens=10**6)) == 0


def test_a_model_without_a_price_is_a_configuration_error():
    with pytest.raises(InvalidAICoreSettingError, match="no entry for model 'mystery-model'"):
        cost_usd(model="mystery-model", usage=Usage(input_tokens=1))


@pytest.mark.django_db
def test_history_keeps_its_price_when_the_table_changes(settings):
    from ai_core.services.usage import usage_log_record

    log = usage_log_record(
        operation="generation", provider="anthropic", model="claude-haiku-4-5",
        usage=Usage(input_tokens=10**6), latency_ms=5,
    )  # fmt: skip
    settings.AI_CORE = {**settings.AI_CORE, "PRICES": {**settings.AI_CORE["PRICES"], "claude-haiku-4-5": {
        "input": "9", "output": "9", "cache_read": "9", "cache_write": "9"}}}  # fmt: skip
    log.refresh_from_db()
    assert log.cost_usd == Decimal("1.00000000")


@pytest.mark.django_db
def test_cache_hit_rates_come_from_the_usage_log():
    from ai_core.selectors import cache_hit_rates
    from ai_core.services.usage import usage_log_record

    def log(outcome="ok", **tokens):
        usage_log_record(
            operation="generation", provider="anthropic", model="claude-haiku-4-5",
            usage=Usage(**tokens), latency_ms=1, outcome=outcome,
        )  # fmt: skip

    log(input_tokens=100, cache_write_tokens=900)
    log(input_tokens=100, cache_read_tokens=900)
    log(outcome="cache_hit")
    log(outcome="error")
    rates = cache_hit_rates()
    assert rates["prompt_cache_hit_rate"] == 900 / 2000
    assert rates["response_cache_hit_rate"] == 1 / 3


@pytest.mark.django_db
def test_the_routing_page_shows_circuit_state_and_cache_rates(admin_client, settings):
    from ai_core.resilience.runtime import breaker_for

    settings.AI_CORE = {
        **settings.AI_CORE,
        "GENERATION_PROVIDERS": {
            **settings.AI_CORE["GENERATION_PROVIDERS"],
            "anthropic": {
                "CLASS": "ai_core.providers.anthropic.AnthropicProvider",
                "OPTIONS": {"api_key": "x"},
            },
        },
    }
    for _ in range(settings.AI_CORE["CIRCUIT_BREAKER"]["THRESHOLD"]):
        breaker_for("anthropic", "claude-haiku-4-5").record_failure()
    html = admin_client.get("/admin/ai/routing/").content.decode()
    assert "anthropic:claude-haiku-4-5" in html
    assert ">open<" in html
    assert "Prompt cache hit rate" in html
