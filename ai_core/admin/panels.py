"""Edit-form panel showing the golden-case gate: what ran for this prompt and what failed."""

from __future__ import annotations

from wagtail.admin.panels import Panel

from ai_core.services.prompt_evals import prompt_eval_latest


class GoldenStatusPanel(Panel):
    """Shown on the edit page so an editor who pressed Publish sees pending, failed (with the case,
    the expectation and the output) or passed, without leaving the prompt."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "ai_core/admin/panels/golden_status.html"

        def is_shown(self) -> bool:
            return bool(self.instance and self.instance.pk)

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["runs"] = prompt_eval_latest(prompt=self.instance)
            return context
