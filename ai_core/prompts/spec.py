"""The shape of a prompt template, shared by the YAML files in ``prompts/`` and the admin snippets.

Validation is strict and names the offending field, because a prompt that is quietly wrong costs
money and reaches visitors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .render import RenderedPrompt, placeholders, render_template

TIERS = ("small", "medium", "large")
REVIEW_POLICIES = ("never", "on_flag", "always")
TASKS = ("answer", "summary", "classify", "generate")
EXPECTATION_KINDS = (
    "contains",
    "not_contains",
    "regex",
    "json_schema",
    "max_length",
    "must_cite",
    # Every [n] the output cites is one of the case's own sources (none invented or forged).
    "cites_only_sources",
    # The rendered prompt holds exactly this many <source> blocks (visitor text cannot add one).
    "prompt_source_blocks",
)
REQUIRED_FIELDS = ("key", "version", "description", "max_tokens", "temperature", "system", "user")
KNOWN_FIELDS = (
    *REQUIRED_FIELDS,
    "tier",
    "model",
    "variables",
    "system_variables",
    "review_policy",
    "task",
    "labels",
    "golden",
)


class PromptValidationError(ValueError):
    def __init__(self, message: str, *, source: str = "", field_name: str = ""):
        location = f"{source}: " if source else ""
        where = f"field '{field_name}': " if field_name else ""
        super().__init__(f"{location}{where}{message}")
        self.source = source
        self.field_name = field_name


@dataclass(kw_only=True, frozen=True)
class GoldenCase:
    name: str
    inputs: Mapping[str, Any]
    expect: Mapping[str, Any]
    # Provider kinds for which the expectation is meaningful ("local" cannot be judged on prose style).
    providers: tuple[str, ...] = ()


@dataclass(kw_only=True, frozen=True)
class PromptSpec:
    key: str
    version: int
    description: str
    system: str
    user: str
    max_tokens: int
    temperature: float
    tier: str | None = "medium"
    model: str | None = None
    variables: tuple[str, ...] = ()
    # Filled by the pipeline (retrieved sources, page title), never by the caller.
    system_variables: tuple[str, ...] = ()
    review_policy: str = "on_flag"
    task: str = "generate"
    labels: tuple[str, ...] = ()
    golden: tuple[GoldenCase, ...] = field(default_factory=tuple)

    @property
    def version_label(self) -> str:
        return f"{self.key}@v{self.version}"

    def render(self, values: Mapping[str, object]) -> RenderedPrompt:
        return RenderedPrompt(
            system=render_template(self.system, values), user=render_template(self.user, values)
        )

    def missing_inputs(self, payload: Mapping[str, object]) -> list[str]:
        return [name for name in self.variables if payload.get(name) in (None, "")]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "version": self.version,
            "description": self.description,
            "tier": self.tier,
            "model": self.model,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "task": self.task,
            "review_policy": self.review_policy,
            "variables": list(self.variables),
            "system_variables": list(self.system_variables),
            "labels": list(self.labels),
            "system": self.system,
            "user": self.user,
            "golden": [
                {
                    "name": c.name,
                    "inputs": dict(c.inputs),
                    "expect": dict(c.expect),
                    "providers": list(c.providers),
                }
                for c in self.golden
            ],
        }
        if not self.model:
            data.pop("model")
        if not data["labels"]:
            data.pop("labels")
        return data

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "") -> PromptSpec:
        def fail(message: str, field_name: str = "") -> PromptValidationError:
            return PromptValidationError(message, source=source, field_name=field_name)

        if not isinstance(data, dict):
            raise fail("a prompt file must be a mapping of fields")
        for name in REQUIRED_FIELDS:
            if name not in data or data[name] in (None, ""):
                raise fail("is required", name)
        unknown = sorted(set(data) - set(KNOWN_FIELDS))
        if unknown:
            raise fail(f"unknown field(s): {', '.join(unknown)}", unknown[0])
        key = data["key"]
        if not isinstance(key, str) or not key.replace("_", "").isalnum() or not key.islower():
            raise fail("must be lower_snake_case", "key")
        version = data["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise fail("must be a positive integer", "version")
        max_tokens = data["max_tokens"]
        if not isinstance(max_tokens, int) or not 1 <= max_tokens <= 64_000:
            raise fail("must be an integer between 1 and 64000", "max_tokens")
        temperature = data["temperature"]
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 1:
            raise fail("must be a number between 0 and 1", "temperature")
        tier, model = data.get("tier"), data.get("model")
        if tier is None and not model:
            tier = "medium"  # unrouted prompts go to the medium tier
        if model and (not isinstance(model, str) or ":" not in model):
            raise fail("must be written 'provider:model', e.g. 'anthropic:claude-opus-4-8'", "model")
        if tier is not None and tier not in TIERS:
            raise fail(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}", "tier")
        review_policy = data.get("review_policy", "on_flag")
        if review_policy not in REVIEW_POLICIES:
            raise fail(f"must be one of {', '.join(REVIEW_POLICIES)}", "review_policy")
        task = data.get("task", "generate")
        if task not in TASKS:
            raise fail(f"must be one of {', '.join(TASKS)}", "task")
        variables = tuple(_string_list(data.get("variables", []), fail, "variables"))
        system_variables = tuple(_string_list(data.get("system_variables", []), fail, "system_variables"))
        labels = tuple(_string_list(data.get("labels", []), fail, "labels"))
        if task == "classify" and not labels:
            raise fail("a classify prompt must declare its labels", "labels")
        declared = set(variables) | set(system_variables)
        for field_name in ("system", "user"):
            if not isinstance(data[field_name], str):
                raise fail("must be text", field_name)
            undeclared = [name for name in placeholders(data[field_name]) if name not in declared]
            if undeclared:
                raise fail(f"uses undeclared variable(s): {', '.join(undeclared)}", field_name)
        golden = tuple(_golden_cases(data.get("golden", []), variables, fail))
        return cls(
            key=key,
            version=version,
            description=str(data["description"]),
            system=data["system"],
            user=data["user"],
            max_tokens=max_tokens,
            temperature=float(temperature),
            tier=tier,
            model=model or None,
            variables=variables,
            system_variables=system_variables,
            review_policy=review_policy,
            task=task,
            labels=labels,
            golden=golden,
        )


def _string_list(value: Any, fail, field_name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise fail("must be a list of names", field_name)
    return value


def _golden_cases(value: Any, variables: tuple[str, ...], fail) -> list[GoldenCase]:
    if not isinstance(value, list):
        raise fail("must be a list of cases", "golden")
    cases = []
    for index, case in enumerate(value):
        where = f"golden[{index}]"
        if not isinstance(case, dict) or "name" not in case or "expect" not in case:
            raise fail("each case needs 'name', 'inputs' and 'expect'", where)
        inputs = case.get("inputs", {})
        if not isinstance(inputs, dict):
            raise fail("'inputs' must be a mapping", f"{where}.inputs")
        missing = [name for name in variables if name not in inputs]
        if missing:
            raise fail(f"inputs miss declared variable(s): {', '.join(missing)}", f"{where}.inputs")
        expect = case["expect"]
        if not isinstance(expect, dict) or not expect:
            raise fail("'expect' must be a non-empty mapping", f"{where}.expect")
        unknown = sorted(set(expect) - set(EXPECTATION_KINDS))
        if unknown:
            raise fail(f"unknown expectation(s): {', '.join(unknown)}", f"{where}.expect")
        providers = tuple(_string_list(case.get("providers", []), fail, f"{where}.providers"))
        cases.append(GoldenCase(name=str(case["name"]), inputs=inputs, expect=expect, providers=providers))
    return cases
