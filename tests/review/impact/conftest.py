"""Fixtures for the change-impact tests: the RAG tests' fake embedder and publish helper (a real
publish whose on-commit index task runs inline), beside the review fixtures of the parent folder."""

from tests.rag.conftest import fake_embedder, publish  # noqa: F401 - fixtures
