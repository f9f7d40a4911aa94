"""Each shipped golden case, one test apiece.

By default they run on the offline local provider (cases marked for other providers are skipped
with the reason shown). ``pytest -m llm`` runs them against a real provider instead; without an API
key that run fails rather than quietly passing.
"""

from __future__ import annotations

import os

import pytest

from ai_core.prompts.registry import yaml_prompts
from ai_core.providers import generation_provider
from ai_core.services.prompt_evals import golden_case_run

CASES = [
    pytest.param(key, case, id=f"{key}/{case.name}")
    for key, spec in sorted(yaml_prompts().items())
    for case in spec.golden
]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "case"), CASES)
def test_golden_case_on_the_local_provider(key, case) -> None:
    if case.providers and "local" not in case.providers:
        pytest.skip(f"only meaningful for {', '.join(case.providers)}")
    outcome = golden_case_run(spec=yaml_prompts()[key], case=case, provider=generation_provider("local"))
    assert outcome.status == "pass", f"{outcome.detail}\noutput: {outcome.output!r}"


def _real_provider_alias() -> str:
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic"
    if os.environ.get("OPENAI_API_KEY"):
        return "openai"
    pytest.fail(
        "pytest -m llm needs ANTHROPIC_API_KEY or OPENAI_API_KEY; refusing to report a pass without one"
    )


@pytest.mark.llm
@pytest.mark.django_db
@pytest.mark.parametrize(("key", "case"), CASES)
def test_golden_case_on_a_real_provider(key, case) -> None:
    alias = _real_provider_alias()
    if case.providers and alias not in case.providers:
        pytest.skip(f"only meaningful for {', '.join(case.providers)}")
    outcome = golden_case_run(spec=yaml_prompts()[key], case=case, provider=generation_provider(alias))
    assert outcome.status == "pass", f"{outcome.detail}\noutput: {outcome.output!r}"
