"""Prompt evaluation: golden-case runs and the publish gate that makes a revision live only if
its golden cases pass.

Golden runs call a provider, so they run only in management commands and Celery tasks, never in
an HTTP handler: the admin's publish button queues ``prompt_eval_request`` and returns at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from django.db import transaction
from django.utils import timezone
from wagtail.models import Revision

from ai_core import conf, providers
from ai_core.budgets.services import (
    POOL_SYSTEM,
    BudgetExceeded,
    budget_hold_settle,
    budget_release,
    budget_reserve,
    estimate_tokens,
)
from ai_core.models import LLMUsageLog, PromptEvalRun, PromptTemplate
from ai_core.models.prompts import spec_fingerprint
from ai_core.prompts.golden import CheckResult, case_context, check_output, summarise
from ai_core.prompts.spec import GoldenCase, PromptSpec
from ai_core.providers.base import GenerationProvider
from ai_core.providers.errors import ProviderError
from ai_core.routing import route_model
from ai_core.services.generation import generation_request_for
from ai_core.services.usage import usage_log_record

__all__ = ["prompt_eval_latest", "prompt_eval_request"]

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
    request = generation_request_for(
        spec, rendered, model=model, sources=context.sources, metadata=context.metadata
    )
    try:
        # Golden runs are the site's own work: they draw on the system pool, never a visitor's.
        hold = budget_reserve(tokens=estimate_tokens(spec, context.values), pool=POOL_SYSTEM)
    except BudgetExceeded as err:
        return CaseOutcome(prompt=label, case=case.name, status="error", detail=f"budget_exceeded: {err}")
    except redis.RedisError as err:
        return CaseOutcome(prompt=label, case=case.name, status="error", detail=f"budget_unavailable: {err}")
    started = time.monotonic()
    try:
        result = provider.generate(request)
    except ProviderError as err:
        budget_release(hold)
        return CaseOutcome(prompt=label, case=case.name, status="error", detail=f"{err.code}: {err}")
    except BaseException:
        budget_release(hold)
        raise
    budget_hold_settle(hold, actual=result.usage.total_tokens)
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
    checks = check_output(
        case.expect,
        result.text,
        source_count=len(context.sources),
        prompt=f"{rendered.system}\n{rendered.user}",
    )
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
    from ai_core.tasks.prompts import run_prompt_eval

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
