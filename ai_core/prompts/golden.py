"""Golden cases: what a prompt's output must (not) contain, checked without calling anything.

The checks are pure so the runner (``ai_core.services.prompt_evals``), the admin preview and tests share
them. A case may carry ``sources`` (a list of texts) among its inputs: they become the numbered
``<source>`` blocks a RAG prompt expects, and the local extractive provider reads them directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ai_core.providers.base import Source

from .render import PromptRenderError
from .sources import format_sources
from .spec import GoldenCase, PromptSpec

CITATION_RE = re.compile(r"\[(\d+)\]")
# Closing tags, counted: system prompts name "<source> blocks" in prose, but never close one.
SOURCE_BLOCK_RE = re.compile(r"</source>")


@dataclass(kw_only=True, frozen=True)
class CheckResult:
    kind: str
    expected: Any
    passed: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "expected": self.expected, "passed": self.passed, "detail": self.detail}


@dataclass(kw_only=True, frozen=True)
class CaseContext:
    """Everything a provider call needs from a case besides the spec."""

    values: dict[str, Any]
    sources: list[Source]
    metadata: dict[str, str]


def case_context(spec: PromptSpec, case: GoldenCase) -> CaseContext:
    """Prompt values for a case: its inputs, plus system variables the pipeline would fill."""
    raw_sources = case.inputs.get("sources") or []
    if isinstance(raw_sources, str):
        raw_sources = [raw_sources]
    sources = [
        Source(number=number, chunk_id=f"golden-{number}", text=str(text), title=f"Source {number}")
        for number, text in enumerate(raw_sources, start=1)
    ]
    values: dict[str, Any] = {name: value for name, value in case.inputs.items() if name != "sources"}
    for name in spec.system_variables:
        if name == "sources":
            values["sources"] = format_sources(sources)
        else:
            values.setdefault(name, f"Sample {name.replace('_', ' ')}")
    metadata = {name: str(value) for name, value in values.items() if name in spec.variables}
    return CaseContext(values=values, sources=sources, metadata=metadata)


def preview_cases(spec: PromptSpec) -> list[dict[str, Any]]:
    """Rendered system and user prompts per golden case (or placeholder inputs when there are none)."""
    cases = spec.golden or (
        GoldenCase(
            name="placeholder inputs", inputs={name: f"<{name}>" for name in spec.variables}, expect={}
        ),
    )
    rendered = []
    for case in cases:
        context = case_context(spec, case)
        try:
            prompt = spec.render(context.values)
        except PromptRenderError as err:
            rendered.append({"name": case.name, "error": str(err), "expect": dict(case.expect)})
            continue
        rendered.append(
            {"name": case.name, "system": prompt.system, "user": prompt.user, "expect": dict(case.expect)}
        )
    return rendered


def check_output(
    expect: Mapping[str, Any], output: str, *, source_count: int | None = None, prompt: str | None = None
) -> list[CheckResult]:
    """Every expectation of a case against one output, in a stable order.

    ``source_count`` (the case's sources) and ``prompt`` (the rendered system + user text) feed the
    expectations about the prompt itself; without them those expectations fail rather than pass."""
    checks: list[CheckResult] = []
    for text in _as_list(expect.get("contains")):
        checks.append(CheckResult(kind="contains", expected=text, passed=text in output))
    for text in _as_list(expect.get("not_contains")):
        checks.append(CheckResult(kind="not_contains", expected=text, passed=text not in output))
    for pattern in _as_list(expect.get("regex")):
        # Anchors refer to the whole (stripped) output; authors opt into per-line matching with (?m).
        passed = re.search(pattern, output.strip()) is not None
        checks.append(CheckResult(kind="regex", expected=pattern, passed=passed))
    if "max_length" in expect:
        limit = int(expect["max_length"])
        checks.append(
            CheckResult(
                kind="max_length", expected=limit, passed=len(output) <= limit, detail=f"{len(output)} chars"
            )
        )
    if expect.get("must_cite"):
        cited = sorted({int(n) for n in CITATION_RE.findall(output)})
        detail = f"cites {cited}" if cited else "no [n] citation"
        checks.append(CheckResult(kind="must_cite", expected=True, passed=bool(cited), detail=detail))
    if "json_schema" in expect:
        checks.append(_check_json(expect["json_schema"], output))
    if expect.get("cites_only_sources"):
        cited = sorted({int(n) for n in CITATION_RE.findall(output)})
        foreign = [n for n in cited if source_count is None or not 1 <= n <= source_count]
        if source_count is None:
            detail = "the case's sources are unknown"
        else:
            detail = f"cites {foreign}, not among the case's {source_count} source(s)" if foreign else ""
        passed = source_count is not None and not foreign
        checks.append(CheckResult(kind="cites_only_sources", expected=True, passed=passed, detail=detail))
    if "prompt_source_blocks" in expect:
        wanted = int(expect["prompt_source_blocks"])
        found = len(SOURCE_BLOCK_RE.findall(prompt)) if prompt is not None else None
        checks.append(
            CheckResult(
                kind="prompt_source_blocks",
                expected=wanted,
                passed=found == wanted,
                detail="prompt not rendered" if found is None else f"{found} <source> block(s) in the prompt",
            )
        )
    return checks


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]


def _check_json(schema: Mapping[str, Any], output: str) -> CheckResult:
    try:
        document = json.loads(_strip_fence(output))
    except json.JSONDecodeError as err:
        return CheckResult(kind="json_schema", expected=schema, passed=False, detail=f"not JSON: {err}")
    errors = schema_errors(document, schema)
    return CheckResult(kind="json_schema", expected=schema, passed=not errors, detail="; ".join(errors[:3]))


def _strip_fence(output: str) -> str:
    text = output.strip()
    match = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    return match.group(1) if match else text


_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def schema_errors(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """A small JSON Schema subset: type, enum, const, required, properties, additionalProperties,
    items, min/maxItems, min/maxLength, pattern, minimum, maximum. Enough for structured outputs;
    unknown keywords are ignored, as JSON Schema itself does."""
    errors: list[str] = []
    expected_type = schema.get("type")
    if expected_type is not None:
        names = expected_type if isinstance(expected_type, list) else [expected_type]
        if not any(_is_type(value, name) for name in names):
            return [f"{path}: expected {' or '.join(names)}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}")
    if isinstance(value, dict):
        errors += [f"{path}: missing {name!r}" for name in schema.get("required", []) if name not in value]
        properties = schema.get("properties", {})
        for name, sub in properties.items():
            if name in value:
                errors += schema_errors(value[name], sub, f"{path}.{name}")
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: unexpected {name!r}" for name in value if name not in properties]
    if isinstance(value, list):
        errors += _bounds(len(value), schema, "minItems", "maxItems", f"{path}: item count")
        if isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                errors += schema_errors(item, schema["items"], f"{path}[{index}]")
    if isinstance(value, str):
        errors += _bounds(len(value), schema, "minLength", "maxLength", f"{path}: length")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append(f"{path}: does not match {schema['pattern']!r}")
    if _is_type(value, "number"):
        errors += _bounds(value, schema, "minimum", "maximum", f"{path}")
    return errors


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False  # JSON has no bool-as-number, even though Python does
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, object))


def _bounds(amount: float, schema: Mapping[str, Any], low: str, high: str, label: str) -> list[str]:
    errors = []
    if low in schema and amount < schema[low]:
        errors.append(f"{label} {amount} < {schema[low]}")
    if high in schema and amount > schema[high]:
        errors.append(f"{label} {amount} > {schema[high]}")
    return errors


def summarise(checks: Sequence[CheckResult]) -> str:
    """One line naming each failed expectation, for tables and admin messages."""
    failed = [c for c in checks if not c.passed]
    return "; ".join(f"{c.kind} {c.expected!r}" + (f" ({c.detail})" if c.detail else "") for c in failed)
