"""Load the YAML prompts in ``prompts/`` into the admin's prompt snippets (run on every deploy)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ai_core.prompts.spec import PromptValidationError
from ai_core.services.prompt_sync import prompts_sync


class Command(BaseCommand):
    help = (
        "Create missing prompt snippets and publish YAML versions newer than the live ones. Refuses, "
        "changing nothing, when a live prompt was edited in the admin after its YAML version."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dir", type=Path, help="Prompt directory (default: AI_CORE['PROMPTS_DIR']).")
        parser.add_argument("--force", action="store_true", help="Overwrite admin edits with the YAML.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would happen; change nothing.")

    def handle(self, *args, dir: Path | None, force: bool, dry_run: bool, **options) -> None:
        try:
            plan = prompts_sync(directory=dir, force=force, dry_run=dry_run)
        except PromptValidationError as err:
            raise CommandError(f"invalid prompt file: {err}") from err
        conflicts = [item for item in plan if item.action == "conflict"]
        for item in plan:
            live = f"live v{item.live_version}" if item.live_version is not None else "not in the admin"
            line = f"{item.key:<24} {item.action:<10} YAML v{item.yaml_version}, {live}"
            if item.message:
                line += f": {item.message}"
            style = self.style.ERROR if item.action == "conflict" else self.style.SUCCESS
            self.stdout.write(style(line) if item.action != "unchanged" else line)
        if conflicts:
            raise CommandError(
                f"refusing to sync: {len(conflicts)} prompt(s) were changed in the admin after their YAML "
                f"version ({', '.join(item.key for item in conflicts)}); nothing was changed. "
                "Export them (manage.py export_prompts) or rerun with --force."
            )
        if dry_run:
            self.stdout.write("dry run: nothing was changed")
