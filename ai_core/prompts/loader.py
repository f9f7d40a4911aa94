"""Load and validate the canonical prompt templates from YAML files."""

from __future__ import annotations

from pathlib import Path

import yaml

from .spec import PromptSpec, PromptValidationError


def load_prompt_file(path: Path) -> PromptSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise PromptValidationError(f"invalid YAML: {err}", source=str(path)) from err
    spec = PromptSpec.from_dict(data, source=str(path))
    if spec.key != path.stem:
        raise PromptValidationError(
            f"must match the file name ({path.stem!r})", source=str(path), field_name="key"
        )
    return spec


def load_prompt_dir(directory: Path) -> dict[str, PromptSpec]:
    """All ``*.yaml`` prompts in ``directory`` by key. Raises on the first invalid file."""
    if not directory.is_dir():
        raise PromptValidationError(f"prompt directory not found: {directory}")
    return {spec.key: spec for spec in map(load_prompt_file, sorted(directory.glob("*.yaml")))}


def collect_prompt_errors(directory: Path) -> list[PromptValidationError]:
    """Every invalid file, not just the first (used by the system check)."""
    errors = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            load_prompt_file(path)
        except PromptValidationError as err:
            errors.append(err)
    return errors
