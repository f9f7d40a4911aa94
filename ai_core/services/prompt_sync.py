"""Prompt files and snippets: YAML <-> snippet sync, export back to YAML, and the routing table
the admin shows. No provider is called here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone

from ai_core import conf
from ai_core.models import PromptTemplate
from ai_core.models.prompts import ungated_publish
from ai_core.prompts.loader import load_prompt_dir
from ai_core.prompts.registry import get_prompt, prompt_keys
from ai_core.prompts.spec import EXPECTATION_KINDS, PromptSpec
from ai_core.routing import route_model

__all__: list[str] = []

logger = logging.getLogger(__name__)

# -- YAML <-> snippets ---------------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class SyncItem:
    key: str
    action: str  # create | publish | unchanged | conflict | force
    yaml_version: int
    live_version: int | None = None
    message: str = ""


def prompts_sync(
    *, directory: Path | None = None, force: bool = False, dry_run: bool = False
) -> list[SyncItem]:
    """Bring snippets up to the YAML files. All or nothing: with any conflict (and no ``force``)
    nothing is written, so a deploy never half-applies a prompt set."""
    specs = load_prompt_dir(directory or conf.prompts_dir())
    rows = {
        row.key: row for row in PromptTemplate.objects.filter(key__in=specs).select_related("live_revision")
    }
    plan = [_plan(spec, rows.get(spec.key), force=force) for spec in specs.values()]
    if dry_run or any(item.action == "conflict" for item in plan):
        return plan
    with transaction.atomic(), ungated_publish("sync_prompts: YAML is code-reviewed and golden-tested in CI"):
        for item in plan:
            if item.action in ("create", "publish", "force"):
                _apply(specs[item.key], rows.get(item.key), item)
    return plan


def _plan(spec: PromptSpec, row: PromptTemplate | None, *, force: bool) -> SyncItem:
    if row is None:
        return SyncItem(key=spec.key, action="create", yaml_version=spec.version)
    if not row.live:
        return SyncItem(key=spec.key, action="publish", yaml_version=spec.version, message="was not live")
    live = row.to_spec()
    same = _content(spec) == _content(live)
    if spec.version > live.version:
        return SyncItem(key=spec.key, action="publish", yaml_version=spec.version, live_version=live.version)
    if same:
        return SyncItem(
            key=spec.key, action="unchanged", yaml_version=spec.version, live_version=live.version
        )
    if force:
        message = f"YAML v{spec.version} published as v{live.version + 1} so no version label is reused"
        return SyncItem(
            key=spec.key,
            action="force",
            yaml_version=spec.version,
            live_version=live.version,
            message=message,
        )
    editor = row.live_revision.user if row.live_revision else None
    if editor is not None:
        when = timezone.localtime(row.live_revision.created_at).strftime("%Y-%m-%d %H:%M")
        message = (
            f"live v{live.version} was edited in the admin by {editor.get_username()} at {when}, after YAML "
            f"v{spec.version}. Run export_prompts to bring the admin change into code review, "
            "or sync_prompts --force to overwrite it."
        )
    else:
        message = (
            f"the YAML differs from live v{live.version} but its version ({spec.version}) is not newer. "
            "Bump the version in the YAML file, or use --force."
        )
    return SyncItem(
        key=spec.key, action="conflict", yaml_version=spec.version, live_version=live.version, message=message
    )


def _apply(spec: PromptSpec, row: PromptTemplate | None, item: SyncItem) -> None:
    if item.action == "force":
        spec = dataclasses.replace(spec, version=(item.live_version or 0) + 1)
    if row is None:
        row = PromptTemplate(live=False)
        row.apply_spec(spec)
        row.save()
    else:
        row.apply_spec(spec)
    revision = row.save_revision(log_action=True)
    revision.publish()


def _content(spec: PromptSpec) -> dict[str, Any]:
    data = spec.to_dict()
    data.pop("version")
    return data


def prompts_export(
    *, directory: Path | None = None, keys: Iterable[str] | None = None
) -> list[tuple[Path, bool]]:
    """Write each live snippet to ``<directory>/<key>.yaml``; returns (path, changed) pairs."""
    directory = directory or conf.prompts_dir()
    directory.mkdir(parents=True, exist_ok=True)
    rows = PromptTemplate.objects.filter(live=True)
    if keys:
        rows = rows.filter(key__in=list(keys))
    written = []
    for row in rows.order_by("key"):
        path = directory / f"{row.key}.yaml"
        text = prompt_yaml_dump(row.to_spec())
        changed = not path.exists() or path.read_text(encoding="utf-8") != text
        if changed:
            path.write_text(text, encoding="utf-8")
        written.append((path, changed))
    return written


class _PromptDumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)  # indent list items under their key, as people do


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    # Short lists of names read best inline ("variables: [question]"); anything longer as a block.
    inline = all(isinstance(item, str) and "\n" not in item and len(item) <= 60 for item in data)
    if not inline:
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=False)
    # Phrases are quoted ("I don't know") so they read as one item, names are left bare.
    items = [
        dumper.represent_scalar("tag:yaml.org,2002:str", item, style='"' if " " in item else None)
        for item in data
    ]
    return yaml.SequenceNode("tag:yaml.org,2002:seq", items, flow_style=True)


_PromptDumper.add_representer(str, _represent_str)
_PromptDumper.add_representer(list, _represent_list)


def prompt_yaml_dump(spec: PromptSpec) -> str:
    """The canonical YAML layout of a prompt; the shipped files use it, so export diffs stay small."""
    data = spec.to_dict()
    if data.get("tier") is None:
        data.pop("tier")
    data["golden"] = [_canonical_case(case, spec) for case in data["golden"]]
    return yaml.dump(data, Dumper=_PromptDumper, sort_keys=False, allow_unicode=True, width=1000)


def _canonical_case(case: dict[str, Any], spec: PromptSpec) -> dict[str, Any]:
    """A fixed key order: PostgreSQL's jsonb does not keep the order the editor typed, and export
    must be byte-stable for sync -> export -> sync to leave git clean."""
    declared = [*spec.variables, *spec.system_variables]
    inputs = case["inputs"]
    input_order = [name for name in declared if name in inputs] + sorted(set(inputs) - set(declared))
    out: dict[str, Any] = {
        "name": case["name"],
        "inputs": {name: _sorted_deep(inputs[name]) for name in input_order},
        "expect": {
            kind: _sorted_deep(case["expect"][kind]) for kind in EXPECTATION_KINDS if kind in case["expect"]
        },
    }
    if case["providers"]:
        out["providers"] = case["providers"]
    return out


def _sorted_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_deep(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_deep(item) for item in value]
    return value


# -- routing -------------------------------------------------------------------------------------


def prompt_routing_rows() -> tuple[list[str], list[dict[str, Any]]]:
    """Provider aliases, and per prompt its tier, explicit model and the model each provider routes to."""
    aliases = sorted(conf.model_tiers())
    live_keys = set(PromptTemplate.objects.filter(live=True).values_list("key", flat=True))
    rows = []
    for key in sorted(set(prompt_keys()) | live_keys):
        spec = get_prompt(key)
        rows.append(
            {
                "key": key,
                "version": spec.version,
                "source": "admin" if key in live_keys else "YAML",
                "tier": spec.tier or "",
                "model": spec.model or "",
                "routes": [route_model(spec, provider_alias=alias) for alias in aliases],
            }
        )
    return aliases, rows
