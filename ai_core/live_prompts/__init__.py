"""Published prompts from the database (the ``PromptTemplate`` snippet), cached in each process and
invalidated across processes through a stamp in Redis. Kept apart from ``ai_core.prompts``, which
is plain Python (spec, render, golden checks) and imports neither Django nor the models."""
