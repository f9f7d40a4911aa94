"""Run prompts' golden cases against a provider; exits non-zero if any case fails or errors."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ai_core import conf
from ai_core.prompts.loader import load_prompt_dir
from ai_core.prompts.registry import UnknownPromptError, get_prompt, prompt_keys
from ai_core.prompts.spec import PromptSpec
from ai_core.services.prompt_evals import CaseOutcome, GoldenReport, golden_suite_run

MARKS = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "error": "ERROR"}


class Command(BaseCommand):
    help = "Run golden cases (all prompts, or --prompt KEY) and print a pass/fail table."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--prompt", action="append", dest="prompts", metavar="KEY", help="Repeatable.")
        parser.add_argument(
            "--provider", metavar="ALIAS", help="Generation provider alias (default: configured)."
        )
        parser.add_argument(
            "--yaml", action="store_true", help="Test the YAML files, not the live (published) prompts."
        )

    def handle(self, *args, prompts: list[str] | None, provider: str | None, yaml: bool, **options) -> None:
        specs = self._specs(prompts, from_yaml=yaml)
        total = sum(len(spec.golden) for spec in specs)
        self.stdout.write(f"Running {total} golden case(s) from {len(specs)} prompt(s)...")
        report = golden_suite_run(specs=specs, provider_alias=provider, on_outcome=self._progress)
        self._table(report)
        if not report.ok:
            failed = report.count("fail") + report.count("error")
            reason = f"{failed} golden case(s) failed" if failed else "no golden case ran"
            raise CommandError(f"{reason} against provider {report.provider!r}")

    def _specs(self, keys: list[str] | None, *, from_yaml: bool) -> list[PromptSpec]:
        if from_yaml:
            available = load_prompt_dir(conf.prompts_dir())
            unknown = sorted(set(keys or []) - set(available))
            if unknown:
                raise CommandError(f"unknown prompt key(s): {', '.join(unknown)}")
            return [available[key] for key in (keys or sorted(available))]
        try:
            return [get_prompt(key) for key in (keys or prompt_keys())]
        except UnknownPromptError as err:
            raise CommandError(str(err)) from err

    def _progress(self, done: int, total: int, outcome: CaseOutcome) -> None:
        mark = MARKS[outcome.status]
        style = self.style.SUCCESS if outcome.status in ("pass", "skip") else self.style.ERROR
        self.stdout.write(f"[{done}/{total}] {style(mark.ljust(5))} {outcome.prompt} / {outcome.case}")

    def _table(self, report: GoldenReport) -> None:
        rows = [(o.prompt, o.case, MARKS[o.status], o.detail) for o in report.outcomes]
        widths = [
            max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(("PROMPT", "CASE", "RESULT"))
        ]
        self.stdout.write("")
        self.stdout.write(f"{'PROMPT':<{widths[0]}}  {'CASE':<{widths[1]}}  {'RESULT':<{widths[2]}}  DETAIL")
        for prompt, case, mark, detail in rows:
            self.stdout.write(f"{prompt:<{widths[0]}}  {case:<{widths[1]}}  {mark:<{widths[2]}}  {detail}")
        self.stdout.write(
            f"\nprovider {report.provider}: {report.count('pass')} passed, {report.count('fail')} failed, "
            f"{report.count('error')} errors, {report.count('skip')} skipped"
        )
