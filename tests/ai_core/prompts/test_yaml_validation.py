"""Invalid prompt files are named with file and field, and fail ``manage.py check``."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from ai_core.checks import check_prompt_files
from ai_core.prompts.loader import collect_prompt_errors, load_prompt_file
from ai_core.prompts.spec import PromptValidationError

VALID = """\
key: {key}
version: 1
description: A test prompt.
tier: small
max_tokens: 50
temperature: 0
variables: [question]
system: Answer briefly.
user: "{{{{ question }}}}"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (VALID.format(key="p").replace("version: 1\n", ""), "version", "is required"),
        (VALID.format(key="p").replace("tier: small", "tier: huge"), "tier", "unknown tier 'huge'"),
        (VALID.format(key="p").replace("{{ question }}", "{{ question }} {{ topic }}"), "user", "topic"),
        (VALID.format(key="p").replace("temperature: 0", "temperature: 3"), "temperature", "between 0 and 1"),
        (VALID.format(key="other"), "key", "must match the file name"),
        (VALID.format(key="p") + "colour: blue\n", "colour", "unknown field"),
    ],
)
def test_invalid_field_names_file_and_field(tmp_path: Path, text: str, field: str, message: str) -> None:
    path = write(tmp_path, "p", text)
    with pytest.raises(PromptValidationError) as excinfo:
        load_prompt_file(path)
    assert excinfo.value.field_name == field
    assert str(path) in str(excinfo.value)
    assert f"field '{field}'" in str(excinfo.value)
    assert message in str(excinfo.value)


def test_bad_yaml_syntax_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "broken", "key: broken\nsystem: [unclosed\n")
    (error,) = collect_prompt_errors(tmp_path)
    assert str(path) in str(error)
    assert "invalid YAML" in str(error)


def test_golden_case_missing_a_declared_variable_is_named(tmp_path: Path) -> None:
    text = VALID.format(key="p") + "golden:\n  - name: empty\n    inputs: {}\n    expect: {max_length: 10}\n"
    (error,) = collect_prompt_errors(write(tmp_path, "p", text).parent)
    assert error.field_name == "golden[0].inputs"
    assert "question" in str(error)


def test_every_invalid_file_is_reported_not_just_the_first(tmp_path: Path) -> None:
    write(tmp_path, "a", VALID.format(key="a").replace("tier: small", "tier: huge"))
    write(tmp_path, "b", "key: b\n")
    write(tmp_path, "c", VALID.format(key="c"))
    assert [Path(err.source).name for err in collect_prompt_errors(tmp_path)] == ["a.yaml", "b.yaml"]


def test_system_check_reports_each_invalid_file_with_its_own_id(tmp_path: Path, settings) -> None:
    settings.AI_CORE = {**settings.AI_CORE, "PROMPTS_DIR": tmp_path}
    write(tmp_path, "a", VALID.format(key="a").replace("tier: small", "tier: huge"))
    write(tmp_path, "b", "key: [b\n")
    messages = check_prompt_files()
    assert [(m.id, Path(m.msg.split(":")[0]).name) for m in messages] == [
        ("ai_core.E003", "a.yaml"),
        ("ai_core.E002", "b.yaml"),
    ]
    assert "field 'tier'" in messages[0].msg


def test_manage_py_check_fails_on_an_invalid_prompt_file(tmp_path: Path, settings) -> None:
    settings.AI_CORE = {**settings.AI_CORE, "PROMPTS_DIR": tmp_path}
    write(tmp_path, "p", VALID.format(key="p").replace("tier: small", "tier: huge"))
    with pytest.raises(SystemCheckError, match=r"ai_core\.E003.*p\.yaml: field 'tier'"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_missing_prompt_directory_is_an_error(tmp_path: Path, settings) -> None:
    settings.AI_CORE = {**settings.AI_CORE, "PROMPTS_DIR": tmp_path / "nope"}
    assert [m.id for m in check_prompt_files()] == ["ai_core.E001"]


def test_the_shipped_prompt_files_are_valid(settings) -> None:
    assert check_prompt_files() == []
