"""Fixtures for prompt tests: live prompt snippets, a clean in-process cache, a fake remote provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ai_core.live_prompts.source import clear_live_prompts
from ai_core.models import PromptTemplate
from ai_core.models.prompts import ungated_publish
from ai_core.prompts.registry import yaml_prompts
from ai_core.prompts.spec import PromptSpec
from ai_core.providers import reset_providers
from ai_core.services.prompt_sync import prompt_yaml_dump

REPO_PROMPTS = Path(__file__).resolve().parents[3] / "prompts"


@pytest.fixture(autouse=True)
def _fresh_prompt_cache() -> Iterator[None]:
    """Specs cached by one test must not leak into the next, whose rows were rolled back."""
    clear_live_prompts()
    yield
    clear_live_prompts()


@pytest.fixture
def yaml_spec() -> Callable[[str], PromptSpec]:
    return lambda key: yaml_prompts()[key]


@pytest.fixture
def live_prompt(db) -> Callable[..., PromptTemplate]:
    """A published snippet built from a YAML spec, optionally changed (``live_prompt("rag_answer", version=3)``)."""

    def make(key: str = "rag_answer", **changes) -> PromptTemplate:
        data = {**yaml_prompts()[key].to_dict(), **changes}
        spec = PromptSpec.from_dict(data)
        row = PromptTemplate(live=False)
        row.apply_spec(spec)
        row.save()
        with ungated_publish("test fixture"):
            row.save_revision().publish()
        row.refresh_from_db()
        return row

    return make


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped prompt files, for commands that read or write YAML."""
    directory = tmp_path / "prompts"
    directory.mkdir()
    for path in REPO_PROMPTS.glob("*.yaml"):
        (directory / path.name).write_text(path.read_text())
    return directory


def write_prompt(directory: Path, spec: PromptSpec) -> Path:
    path = directory / f"{spec.key}.yaml"
    path.write_text(prompt_yaml_dump(spec))
    return path


@pytest.fixture
def remote_provider(settings, fake_provider):
    """Make "anthropic" the default provider, pointed at the fake wire-protocol server."""
    ai_core = dict(settings.AI_CORE)
    ai_core["GENERATION_PROVIDERS"] = {
        **ai_core["GENERATION_PROVIDERS"],
        "anthropic": {
            "CLASS": "ai_core.providers.anthropic.AnthropicProvider",
            "OPTIONS": {"api_key": "sk-ant-test", "base_url": fake_provider.base_url, "max_retries": 0},
        },
    }
    ai_core["DEFAULT_GENERATION_PROVIDER"] = "anthropic"
    settings.AI_CORE = ai_core
    reset_providers()
    yield fake_provider
    reset_providers()
