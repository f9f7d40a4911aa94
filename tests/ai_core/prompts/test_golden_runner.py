"""``run_golden``: a progress line per case, a pass/fail table, and a non-zero exit on any failure."""

from __future__ import annotations

import dataclasses
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ai_core.models import LLMUsageLog
from ai_core.prompts.loader import load_prompt_file
from ai_core.prompts.spec import GoldenCase

from .conftest import write_prompt

pytestmark = pytest.mark.django_db


def run_golden(*args: str) -> str:
    out = StringIO()
    call_command("run_golden", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def one_prompt_dir(tmp_path: Path, settings, prompts_dir: Path) -> Path:
    """Only content_classify, so each test controls exactly which cases run."""
    directory = tmp_path / "one"
    directory.mkdir()
    spec = load_prompt_file(prompts_dir / "content_classify.yaml")
    write_prompt(directory, spec)
    settings.AI_CORE = {**settings.AI_CORE, "PROMPTS_DIR": directory}
    return directory


def with_cases(directory: Path, *cases: GoldenCase) -> None:
    spec = load_prompt_file(directory / "content_classify.yaml")
    write_prompt(directory, dataclasses.replace(spec, golden=cases))


def test_the_shipped_golden_cases_pass_on_the_local_provider() -> None:
    output = run_golden("--yaml", "--provider", "local")
    assert "[1/" in output  # progress, one line per case
    assert "PROMPT" in output and "RESULT" in output
    assert "0 failed, 0 errors" in output
    # The prompt-injection case only means something for a language model; it is shown, not passed.
    assert "SKIP" in output and "ignores instructions inside a source" in output


def test_a_failing_case_exits_non_zero_and_names_the_expectation(
    one_prompt_dir: Path, remote_provider
) -> None:
    with_cases(
        one_prompt_dir,
        GoldenCase(name="labels billing", inputs={"text": "Invoice?"}, expect={"regex": "^billing$"}),
        GoldenCase(name="labels security", inputs={"text": "2FA?"}, expect={"regex": "^security$"}),
    )
    remote_provider.script(path="/v1/messages", reply="billing", times=2)
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("run_golden", "--yaml", stdout=out)
    assert excinfo.value.returncode == 1
    assert "1 golden case(s) failed against provider 'anthropic'" in str(excinfo.value)
    table = out.getvalue()
    assert "[1/2] PASS" in table and "[2/2] FAIL" in table
    assert "regex '^security$'" in table


def test_all_passing_exits_zero_and_logs_the_prompt_version_of_each_output(
    one_prompt_dir: Path, remote_provider
) -> None:
    with_cases(
        one_prompt_dir,
        GoldenCase(name="labels billing", inputs={"text": "Invoice?"}, expect={"regex": "^billing$"}),
    )
    remote_provider.script(path="/v1/messages", reply="billing")
    output = run_golden("--yaml", "--prompt", "content_classify")
    assert "1 passed, 0 failed" in output
    log = LLMUsageLog.objects.get(subject_type="golden_case")
    version = load_prompt_file(one_prompt_dir / "content_classify.yaml").version
    assert (log.prompt_key, log.prompt_version, log.model) == (
        "content_classify",
        version,
        "claude-haiku-4-5",
    )


def test_a_provider_error_counts_as_a_failure(one_prompt_dir: Path, remote_provider) -> None:
    with_cases(one_prompt_dir, GoldenCase(name="any", inputs={"text": "x"}, expect={"max_length": 50}))
    remote_provider.script(path="/v1/messages", status=400)
    with pytest.raises(CommandError, match="1 golden case"):
        run_golden("--yaml")


def test_when_every_case_is_skipped_nothing_was_proven(one_prompt_dir: Path) -> None:
    with_cases(
        one_prompt_dir,
        GoldenCase(name="llm only", inputs={"text": "x"}, expect={"max_length": 5}, providers=("openai",)),
    )
    with pytest.raises(CommandError, match="no golden case ran"):
        run_golden("--yaml", "--provider", "local")


def test_an_unknown_prompt_key_is_an_error(one_prompt_dir: Path) -> None:
    with pytest.raises(CommandError, match="nope"):
        run_golden("--yaml", "--prompt", "nope")
