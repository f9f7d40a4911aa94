"""Prompt services: golden runs, the publish gate, YAML <-> snippet sync and export, routing rows.

Golden runs call a provider, so they run only in management commands and Celery tasks, never in
an HTTP handler: the admin's publish button queues ``prompt_eval_request`` and returns at once.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone
from wagtail.models import Revision

from ai_core import conf, providers
from ai_core.models import LLMUsageLog, PromptEvalRun, PromptTemplate
from ai_core.models.prompts import spec_fingerprint, ungated_publish
from ai_core.prompts.golden import CheckResult, case_context, check_output, summarise
from ai_core.prompts.loader import load_prompt_dir
from ai_core.prompts.registry import get_prompt, prompt_keys
from ai_core.prompts.spec import EXPECTATION_KINDS, GoldenCase, PromptSpec
from ai_core.providers.base import GenerationProvider, GenerationRequest, Message
from ai_core.providers.errors import ProviderError
from ai_core.routing import route_model
from ai_core.services.usage import usage_log_record

logger = logging.getLogger(__name__)

# -- golden runs ---------------------------------------------------------------------------------


@dataclass(kw_only=True)
class CaseOutcome:
    prompt: str  # version label, e.g. "rag_answer@v2"
    case: str
    status: str  # pass | fail | skip | error
    output: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    detail: str = ""
    latency_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "name": self.case,
            "status": self.status,
            "output": self.output,
            "checks": [check.to_dict() for check in self.checks],
            "detail": self.detail,
            "latency_ms": self.latency_ms,
        }


@dataclass(kw_only=True)
class GoldenReport:
    provider: str
    outcomes: list[CaseOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def ok(self) -> bool:
        """No failure or error, and at least one case actually ran: skipping everything proves nothing."""
        return self.count("pass") > 0 and not (self.count("fail") or self.count("error"))


def golden_case_run(*, spec: PromptSpec, case: GoldenCase, provider: GenerationProvider) -> CaseOutcome:
    label = spec.version_label
    if case.providers and provider.alias not in case.providers:
        detail = f"only meaningful for {', '.join(case.providers)}"
        return CaseOutcome(prompt=label, case=case.name, status="skip", detail=detail)
    context = case_context(spec, case)
    rendered = spec.render(context.values)
    model = route_model(spec, provider_alias=provider.alias)
    request = GenerationRequest(
        model=model,
        system=rendered.system,
        messages=[Message(role="user", content=rendered.user)],
        max_tokens=spec.max_tokens,
        temperature=spec.temperature,
        sources=context.sources,
        task=spec.task,
        labels=spec.labels,
        metadata=context.metadata,
    )
    started = time.monotonic()
    try:
        result = provider.generate(request)
    except ProviderError as err:
        return CaseOutcome(prompt=label, case=case.name, status="error", detail=f"{err.code}: {err}")
    latency_ms = result.latency_ms or int((time.monotonic() - started) * 1000)
    usage_log_record(
        operation=LLMUsageLog.Operation.GENERATION,
        provider=result.provider,
        model=result.model,
        usage=result.usage,
        latency_ms=latency_ms,
        prompt_key=spec.key,
        prompt_version=spec.version,
        subject_type="golden_case",
        subject_id=case.name[:64],
    )
    checks = check_output(case.expect, result.text)
    passed = all(check.passed for check in checks)
    return CaseOutcome(
        prompt=label,
        case=case.name,
        status="pass" if passed else "fail",
        output=result.text,
        checks=checks,
        detail="" if passed else summarise(checks),
        latency_ms=latency_ms,
    )


def golden_suite_run(
    *,
    specs: Sequence[PromptSpec],
    provider_alias: str | None = None,
    on_outcome: Callable[[int, int, CaseOutcome], None] | None = None,
) -> GoldenReport:
    """Run every case of ``specs`` in order; ``on_outcome(done, total, outcome)`` reports progress."""
    provider = providers.generation_provider(provider_alias)
    report = GoldenReport(provider=provider.alias)
    total = sum(len(spec.golden) for spec in specs)
    for spec in specs:
        for case in spec.golden:
            outcome = golden_case_run(spec=spec, case=case, provider=provider)
            report.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(len(report.outcomes), total, outcome)
    return report


# -- the publish gate ----------------------------------------------------------------------------


def prompt_eval_request(*, prompt: PromptTemplate, revision: Revision, user=None) -> PromptEvalRun:
    """Record a golden run for ``revision`` and queue it; the task publishes the revision if it passes."""
    spec = revision.as_object().to_spec()
    run = PromptEvalRun.objects.create(
        prompt=prompt,
        revision=revision,
        version=spec.version,
        fingerprint=spec_fingerprint(spec),
        provider=conf.default_generation_alias(),
        requested_by=user if user is not None and user.is_authenticated else None,
    )
    from ai_core.tasks_prompts import run_prompt_eval

    transaction.on_commit(lambda: run_prompt_eval.delay(run.pk))
    return run


def prompt_eval_execute(*, run_id: int) -> PromptEvalRun:
    with transaction.atomic():
        run = PromptEvalRun.objects.select_for_update().select_related("revision").get(pk=run_id)
        if run.status != PromptEvalRun.Status.PENDING:
            return run  # a redelivered message for a run already taken
        run.status = PromptEvalRun.Status.RUNNING
        run.save(update_fields=["status"])
    spec = run.revision.as_object().to_spec()
    if spec_fingerprint(spec) != run.fingerprint:
        return _finish(
            run, PromptEvalRun.Status.ERROR, note="The revision changed after publishing was requested."
        )
    report = golden_suite_run(specs=[spec], provider_alias=run.provider)
    run.results = [outcome.to_dict() for outcome in report.outcomes]
    if not report.ok:
        note = (
            ""
            if report.count("fail") or report.count("error")
            else "No golden case ran against this provider."
        )
        return _finish(run, PromptEvalRun.Status.FAILED, note=note)
    _finish(run, PromptEvalRun.Status.PASSED)
    if run.publish_on_pass:
        _publish_passed(run)
    return run


def prompt_eval_fail(*, run_id: int, note: str) -> None:
    """End a run that crashed or timed out, so the editor is not left watching "pending"."""
    run = PromptEvalRun.objects.get(pk=run_id)
    if not run.is_finished:
        _finish(run, PromptEvalRun.Status.ERROR, note=note)


def _finish(run: PromptEvalRun, status: str, *, note: str = "") -> PromptEvalRun:
    run.status, run.note, run.finished_at = status, note, timezone.now()
    run.save(update_fields=["status", "note", "results", "finished_at"])
    return run


def _publish_passed(run: PromptEvalRun) -> None:
    prompt = PromptTemplate.objects.select_related("live_revision").get(pk=run.prompt_id)
    live = prompt.live_revision
    if live is not None and live.created_at > run.revision.created_at:
        run.note = f"Not published: a newer revision ({live.object_str}) went live while the cases ran."
        run.save(update_fields=["note"])
        return
    try:
        run.revision.publish(user=run.requested_by)
    except Exception as err:
        run.note = f"The golden cases passed, but publishing failed: {err}"
        run.save(update_fields=["note"])
        raise
    # With a future "go live" date Wagtail schedules the revision instead of publishing it now.
    run.published = PromptTemplate.objects.filter(pk=run.prompt_id, live_revision=run.revision).exists()
    if not run.published:
        run.note = "The golden cases passed; the revision is scheduled to go live at its go-live date."
    run.save(update_fields=["published", "note"])
    logger.info("prompt %s approved by its golden cases (run %s)", run.revision.object_str, run.pk)


def prompt_eval_latest(*, prompt: PromptTemplate, limit: int = 3) -> list[PromptEvalRun]:
    return list(prompt.eval_runs.select_related("requested_by")[:limit])


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
