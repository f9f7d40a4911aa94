"""Fixtures of the ai_core tests that generate with the fake Claude, or lose Redis."""

from __future__ import annotations

import pytest

from ai_core.providers import reset_providers
from tests.conftest import generate_with_fake_claude

from .outages import RedisSwitch


@pytest.fixture
def claude(settings, fake_provider):
    """The fake provider as Claude, the default generation provider."""
    generate_with_fake_claude(settings, fake_provider)
    yield fake_provider
    reset_providers()


@pytest.fixture
def redis_switch(monkeypatch):
    """Redis refused while ``switch.down``; up again at the end of the test."""
    switch = RedisSwitch(monkeypatch)
    yield switch
    switch.down = False
