"""``{% ai_revision_impact task_state as impact %}``: what the revision on a "Legal sign-off on AI
impact" task changes under approved answers, with each changed block's diff (escaped HTML), for
the sign-off and request-changes dialogs (``review/workflow/impact_action_modal.html``)."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from ..blocks import revision_impact
from ..diffs import text_diff_html

register = template.Library()


@dataclass(kw_only=True)
class _BlockDiff:
    label: str
    diff_html: str


@register.simple_tag
def ai_revision_impact(task_state) -> dict:
    impact = revision_impact(
        page_id=int(task_state.workflow_state.object_id), revision_id=task_state.revision_id
    )
    return {
        "unknown": impact.unknown,
        "answers": impact.answers,
        "blocks": [_BlockDiff(label=b.label, diff_html=text_diff_html(b.old, b.new)) for b in impact.blocks],
    }
