"""The AI_CORE namespace: providers, model routing, prices and limits. Read only through ai_core.conf.

With no API key in the environment the site runs end to end on the offline local provider.
"""

from pathlib import Path

import environ

env = environ.Env()
BASE_DIR = Path(__file__).resolve().parent.parent.parent

ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY", default="")
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")

# Explicit client timeouts (seconds): never the SDKs' 10-minute defaults.
_TIMEOUT = {
    "connect": env.float("AI_TIMEOUT_CONNECT", default=5.0),
    "read": env.float("AI_TIMEOUT_READ", default=60.0),
    "write": env.float("AI_TIMEOUT_WRITE", default=10.0),
    "pool": env.float("AI_TIMEOUT_POOL", default=5.0),
}

_generation = {
    "local": {"CLASS": "ai_core.providers.local.LocalExtractiveProvider", "OPTIONS": {}},
}
_embedders = {
    "local": {"CLASS": "ai_core.providers.local.LocalMiniLMEmbedder", "OPTIONS": {}},
}
if ANTHROPIC_API_KEY:
    _generation["anthropic"] = {
        "CLASS": "ai_core.providers.anthropic.AnthropicProvider",
        "OPTIONS": {
            "api_key": ANTHROPIC_API_KEY,
            "base_url": env("ANTHROPIC_BASE_URL", default=None),
            "timeout": _TIMEOUT,
            "max_retries": 0,  # the fallback chain retries, not the SDK
        },
    }
if OPENAI_API_KEY or env("OPENAI_BASE_URL", default=""):
    _openai_options = {
        "api_key": OPENAI_API_KEY or "not-needed",
        "base_url": env("OPENAI_BASE_URL", default=None),
        "timeout": _TIMEOUT,
        "max_retries": 0,
    }
    _generation["openai"] = {"CLASS": "ai_core.providers.openai.OpenAIProvider", "OPTIONS": _openai_options}
    if OPENAI_API_KEY:
        _embedders["openai"] = {
            "CLASS": "ai_core.providers.openai.OpenAIEmbedder",
            "OPTIONS": {**_openai_options, "batch_size": env.int("AI_EMBEDDING_BATCH_SIZE", default=128)},
        }

_default_generation = "anthropic" if ANTHROPIC_API_KEY else ("openai" if "openai" in _generation else "local")

AI_CORE: dict = {
    "GENERATION_PROVIDERS": _generation,
    "EMBEDDERS": _embedders,
    "DEFAULT_GENERATION_PROVIDER": env("AI_GENERATION_PROVIDER", default=_default_generation),
    "DEFAULT_EMBEDDER": env("AI_EMBEDDER", default="openai" if "openai" in _embedders else "local"),
    # Tier -> concrete model, per provider alias. Prompts name a tier (or, rarely, a model).
    "MODEL_TIERS": {
        "anthropic": {"small": "claude-haiku-4-5", "medium": "claude-sonnet-4-5", "large": "claude-opus-4-5"},
        "openai": {
            "small": env("OPENAI_MODEL_SMALL", default="gpt-4o-mini"),
            "medium": env("OPENAI_MODEL_MEDIUM", default="gpt-4o-mini"),
            "large": env("OPENAI_MODEL_LARGE", default="gpt-4o"),
        },
        "local": {"small": "extractive-minilm", "medium": "extractive-minilm", "large": "extractive-minilm"},
    },
    # USD per million tokens, applied when a usage row is written (history is never re-priced).
    # Anthropic: cache writes 1.25x input (5-minute TTL), cache reads 0.1x input.
    "PRICES": {
        "claude-haiku-4-5": {"input": "1.00", "output": "5.00", "cache_read": "0.10", "cache_write": "1.25"},
        "claude-sonnet-4-5": {
            "input": "3.00",
            "output": "15.00",
            "cache_read": "0.30",
            "cache_write": "3.75",
        },
        "claude-opus-4-5": {"input": "5.00", "output": "25.00", "cache_read": "0.50", "cache_write": "6.25"},
        "gpt-4o-mini": {"input": "0.15", "output": "0.60", "cache_read": "0.075", "cache_write": "0.15"},
        "gpt-4o": {"input": "2.50", "output": "10.00", "cache_read": "1.25", "cache_write": "2.50"},
        "text-embedding-3-small": {"input": "0.02", "output": "0", "cache_read": "0", "cache_write": "0"},
        "extractive-minilm": {"input": "0", "output": "0", "cache_read": "0", "cache_write": "0"},
        "all-MiniLM-L6-v2": {"input": "0", "output": "0", "cache_read": "0", "cache_write": "0"},
    },
    "PROMPTS_DIR": BASE_DIR / "prompts",
    # Request API limits.
    "MAX_PAYLOAD_BYTES": env.int("AI_MAX_PAYLOAD_BYTES", default=16_384),
    # Prompt keys anonymous visitors may submit (everything else needs a logged-in user).
    "ANONYMOUS_PROMPTS": ["rag_answer"],
    # Celery limits for generation tasks; the soft limit lets the task record a clean failure.
    "TASK_SOFT_TIME_LIMIT": env.int("AI_TASK_SOFT_TIME_LIMIT", default=90),
    "TASK_TIME_LIMIT": env.int("AI_TASK_TIME_LIMIT", default=120),
    "TASK_MAX_RETRIES": env.int("AI_TASK_MAX_RETRIES", default=3),
}
