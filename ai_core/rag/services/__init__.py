"""Writes of the RAG app (indexing, freshness). Reads live in ``ai_core.rag.selectors``."""
