"""Fixtures that run the fake provider server in-process, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_provider import FakeProviderServer


@pytest.fixture(scope="session")
def fake_provider_server() -> Iterator[FakeProviderServer]:
    """One server per test session: binding a port per test would only slow the suite down."""
    server = FakeProviderServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_provider(fake_provider_server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    """The shared server, wiped before and after each test so scripts and caches never leak."""
    fake_provider_server.reset()
    yield fake_provider_server
    fake_provider_server.reset()


@pytest.fixture
def fake_provider_url(fake_provider: FakeProviderServer) -> str:
    """Root URL: Anthropic's ``base_url`` as is; OpenAI clients append ``/v1``."""
    return fake_provider.base_url
