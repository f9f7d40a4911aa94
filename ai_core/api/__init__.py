"""ai_core's HTTP API for AI requests: thin views over ``ai_core.services`` and ``ai_core.selectors``."""
