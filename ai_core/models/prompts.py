"""Prompt templates as Wagtail snippets, and the golden-case runs that gate their publication.

The row of a ``PromptTemplate`` holds the *live* prompt; drafts live only in revisions
(``DraftStateMixin``). Every field mirrors ``PromptSpec`` so YAML files and the admin share one
validator (``PromptSpec.from_dict``) and one shape.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from wagtail.models import DraftStateMixin, LockableMixin, PreviewableMixin, Revision, RevisionMixin

from ai_core import conf
from ai_core.prompts.spec import REVIEW_POLICIES, TASKS, TIERS, PromptSpec, PromptValidationError

# Set only by code paths whose prompts were reviewed elsewhere (``sync_prompts`` loads YAML that
# went through code review and CI's golden run); every other publish needs a passing eval run.
_gate_bypass: contextvars.ContextVar[str] = contextvars.ContextVar("prompt_gate_bypass", default="")


class PromptGateClosed(Exception):
    """A prompt revision was published without a passing golden-case run for its exact content."""


@contextmanager
def ungated_publish(reason: str) -> Iterator[None]:
    """Publish prompt revisions without the golden-case gate, for a stated reason (logged by callers)."""
    token = _gate_bypass.set(reason)
    try:
        yield
    finally:
        _gate_bypass.reset(token)


def spec_fingerprint(spec: PromptSpec) -> str:
    """Hash of everything that shapes model output, so a run proves exactly one prompt content."""
    return hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value.replace("_", " ").capitalize()) for value in values]


class PromptTemplate(DraftStateMixin, LockableMixin, RevisionMixin, PreviewableMixin, models.Model):
    key = models.SlugField(max_length=100, unique=True, help_text="lower_snake_case; code refers to it.")
    version = models.PositiveIntegerField(
        default=1,
        help_text="Recorded with every AI output. Raised automatically when you change a live prompt.",
    )
    description = models.TextField()
    tier = models.CharField(
        max_length=10, choices=_choices(TIERS), blank=True, help_text="Leave empty only when naming a model."
    )
    model = models.CharField(
        max_length=100, blank=True, help_text="Optional explicit 'provider:model'; overrides the tier there."
    )
    max_tokens = models.PositiveIntegerField(default=600)
    temperature = models.FloatField(default=0.0)
    task = models.CharField(max_length=20, choices=_choices(TASKS), default="generate")
    review_policy = models.CharField(max_length=20, choices=_choices(REVIEW_POLICIES), default="on_flag")
    variables = models.JSONField(default=list, blank=True)
    system_variables = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=list, blank=True)
    system = models.TextField()
    user = models.TextField()
    golden = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name = "prompt template"

    def __str__(self) -> str:
        # Stored as each revision's ``object_str``, so history lists show the version label.
        return f"{self.key} v{self.version}"

    # -- spec mapping ----------------------------------------------------------------------------

    def spec_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "version": self.version,
            "description": self.description,
            "tier": self.tier or None,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "task": self.task,
            "review_policy": self.review_policy,
            "variables": self.variables,
            "system_variables": self.system_variables,
            "labels": self.labels,
            "system": self.system,
            "user": self.user,
            "golden": self.golden,
        }
        if self.model:
            data["model"] = self.model
        return data

    def to_spec(self) -> PromptSpec:
        return PromptSpec.from_dict(self.spec_data(), source=f"prompt snippet {self.key!r}")

    def apply_spec(self, spec: PromptSpec) -> None:
        data = spec.to_dict()
        for name in ("key", "version", "description", "max_tokens", "temperature", "task", "review_policy"):
            setattr(self, name, data[name])
        for name in ("variables", "system_variables", "labels", "golden"):
            setattr(self, name, data.get(name, []))
        self.tier = data["tier"] or ""
        self.model = data.get("model") or ""
        self.system, self.user = data["system"], data["user"]

    def clean(self) -> None:
        super().clean()
        try:
            spec = PromptSpec.from_dict(self.spec_data())
        except PromptValidationError as err:
            raise ValidationError({_form_field(err.field_name): _bare_message(err)}) from err
        self._raise_version_over_live(spec)

    def _raise_version_over_live(self, spec: PromptSpec) -> None:
        """A changed prompt must never reuse a live version label: outputs record key and version."""
        if not self.pk:
            return
        live = PromptTemplate.objects.filter(pk=self.pk, live=True).first()
        if live is None:
            return
        live_spec = live.to_spec()
        if _without_version(spec) != _without_version(live_spec):
            self.version = max(self.version, live_spec.version + 1)
        else:
            self.version = max(self.version, live_spec.version)

    # -- publishing gate -------------------------------------------------------------------------

    def publish(self, revision: Revision, *args: Any, **kwargs: Any):
        if not _gate_bypass.get() and not PromptEvalRun.objects.passed_for(revision).exists():
            raise PromptGateClosed(
                f"{revision.object_str} has no passing golden-case run for this exact content; "
                "publish it from the admin so its cases run first."
            )
        return super().publish(revision, *args, **kwargs)

    # -- preview ---------------------------------------------------------------------------------

    @property
    def preview_modes(self) -> list[tuple[str, str]]:
        # The admin app names the template; without one there is nothing to preview with.
        return (
            PreviewableMixin.DEFAULT_PREVIEW_MODES if conf.setting_or_none("PROMPT_PREVIEW_TEMPLATE") else []
        )

    def get_preview_template(self, request, mode_name: str) -> str:
        return conf.setting("PROMPT_PREVIEW_TEMPLATE")

    def get_preview_context(self, request, mode_name: str) -> dict[str, Any]:
        from ai_core.prompts.golden import preview_cases

        context = super().get_preview_context(request, mode_name)
        try:
            spec = self.to_spec()
        except PromptValidationError as err:
            return {**context, "spec": None, "error": str(err), "cases": []}
        return {**context, "spec": spec, "error": "", "cases": preview_cases(spec)}


class PromptEvalRunQuerySet(models.QuerySet):
    def passed_for(self, revision: Revision) -> PromptEvalRunQuerySet:
        """Passing runs whose content matches the revision now (autosave can overwrite a revision)."""
        fingerprint = spec_fingerprint(revision.as_object().to_spec())
        return self.filter(revision=revision, fingerprint=fingerprint, status=PromptEvalRun.Status.PASSED)


class PromptEvalRun(models.Model):
    """One run of a prompt revision's golden cases, requested by publishing it in the admin."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Error"

    FINISHED = frozenset({Status.PASSED, Status.FAILED, Status.ERROR})

    prompt = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="eval_runs")
    revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    fingerprint = models.CharField(max_length=64)
    provider = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    publish_on_pass = models.BooleanField(default=True)
    published = models.BooleanField(default=False)
    # Per case: name, status, output, checks [{kind, expected, passed, detail}].
    results = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True, help_text="Why a passing run did not publish, or what went wrong.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PromptEvalRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "prompt eval run"

    def __str__(self) -> str:
        return f"{self.prompt.key} v{self.version} golden run ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def failed_cases(self) -> list[dict[str, Any]]:
        return [case for case in self.results if case.get("status") in ("fail", "error")]


def _without_version(spec: PromptSpec) -> dict[str, Any]:
    data = spec.to_dict()
    data.pop("version")
    return data


def _form_field(field_name: str) -> str:
    """``golden[0].inputs`` -> ``golden``: the admin form edits whole fields, not their parts."""
    name = field_name.split("[", 1)[0].split(".", 1)[0]
    return name if name in PromptSpec.__dataclass_fields__ else "__all__"


def _bare_message(err: PromptValidationError) -> str:
    message = str(err)
    if err.source:
        message = message.removeprefix(f"{err.source}: ")
    if err.field_name and not err.field_name.isidentifier():
        return message  # keep "field 'golden[0].expect': ..." so the editor knows which case
    return message.removeprefix(f"field '{err.field_name}': ")
