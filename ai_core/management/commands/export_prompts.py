"""Write the live prompt snippets back to YAML so admin edits go through code review."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from ai_core.services.prompt_sync import prompts_export


class Command(BaseCommand):
    help = "Write each live prompt snippet to <dir>/<key>.yaml (default: AI_CORE['PROMPTS_DIR'])."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dir", type=Path, help="Target directory (default: AI_CORE['PROMPTS_DIR']).")
        parser.add_argument("keys", nargs="*", help="Only these prompt keys.")

    def handle(self, *args, dir: Path | None, keys: list[str], **options) -> None:
        written = prompts_export(directory=dir, keys=keys or None)
        for path, changed in written:
            self.stdout.write(f"{'wrote    ' if changed else 'unchanged'} {path}")
        self.stdout.write(f"{sum(changed for _, changed in written)} of {len(written)} file(s) changed")
