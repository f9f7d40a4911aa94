"""The dashboard panel for reviewers: what waits, by priority, and for how long."""

from __future__ import annotations

from wagtail.admin.ui.components import Component

from .assignment import review_pending_assigned_count
from .selectors import review_queue_summary


class ReviewQueuePanel(Component):
    name = "review_queue"
    template_name = "review/panels/queue.html"
    # Above Wagtail's own panels (pages to moderate is 100): held answers block visitors.
    order = 90

    def __init__(self, *, index_url: str):
        self.index_url = index_url

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        user = parent_context["request"].user
        context.update(
            summary=review_queue_summary(),
            index_url=self.index_url,
            assigned_to_me=review_pending_assigned_count(user=user),
        )
        return context
