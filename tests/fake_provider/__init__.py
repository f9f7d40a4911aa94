"""A fake Anthropic/OpenAI HTTP server for tests; see ``server`` for how to run and script it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fake_provider.script import Behaviour

if TYPE_CHECKING:
    from tests.fake_provider.server import FakeProviderServer, RemoteFakeProvider

__all__ = ["Behaviour", "FakeProviderServer", "RemoteFakeProvider"]


def __getattr__(name: str) -> Any:
    # Imported lazily so ``python -m tests.fake_provider.server`` does not import itself twice.
    if name in ("FakeProviderServer", "RemoteFakeProvider"):
        from tests.fake_provider import server

        return getattr(server, name)
    raise AttributeError(name)
