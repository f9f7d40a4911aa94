"""The AI_CORE namespace: providers, embedders and prices. Read only through ai_core.conf."""

import environ

env = environ.Env()

ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY", default="")
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")

AI_CORE: dict = {
    "GENERATION_PROVIDERS": {
        "local": {"CLASS": "ai_core.providers.local.LocalExtractiveProvider", "OPTIONS": {}},
    },
    "EMBEDDERS": {
        "local": {"CLASS": "ai_core.providers.local.LocalMiniLMEmbedder", "OPTIONS": {}},
    },
}
