"""Cost arithmetic. Prices are USD per million tokens; results are exact Decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from . import conf
from .providers.base import Usage

MILLION = Decimal(1_000_000)
QUANTUM = Decimal("0.00000001")
# Provider-neutral and deliberately rough: budget reservations and the prompt-cache threshold
# need an estimate before any tokenizer runs. The knowledge index counts its own (rag/chunking.py).
CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """About four characters a token."""
    return len(text) // CHARS_PER_TOKEN


def cost_usd(*, model: str, usage: Usage) -> Decimal:
    price = conf.price_for(model)
    total = (
        price.input * usage.input_tokens
        + price.output * usage.output_tokens
        + price.cache_read * usage.cache_read_tokens
        + price.cache_write * usage.cache_write_tokens
    ) / MILLION
    return total.quantize(QUANTUM, rounding=ROUND_HALF_UP)
