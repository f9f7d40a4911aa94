"""The review queue's section of AI → Usage dashboard: items flagged and decided in the range, the
median time to a decision, what was still pending at its end, and the ``review`` CSV.

ai_core draws the dashboard without importing review: ``review/wagtail_hooks.py`` registers this
class with its ``register_ai_dashboard_section`` hook (``ai_core/admin/dashboard/sections.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from .selectors import ReviewThroughput, review_throughput


class ReviewSection:
    name = "review"
    template = "review/dashboard_section.html"
    csv_headers = ["metric", "value"]

    def data(self, *, start: dt.date, end: dt.date) -> ReviewThroughput:
        return review_throughput(start=start, end=end)

    def kpis(self, data: ReviewThroughput) -> list[tuple[str, str, str]]:
        return [("Review decisions", f"{data.decided:,}", "review-decided")]

    def csv_rows(self, *, start: dt.date, end: dt.date) -> Iterable[Sequence[object]]:
        review = review_throughput(start=start, end=end)
        median = review.median_time_to_decision
        return [
            ["flagged", review.created],
            ["decided", review.decided],
            ["approved", review.approved],
            ["approved_with_edits", review.approved_with_edits],
            ["rejected", review.rejected],
            ["median_time_to_decision_s", None if median is None else round(median.total_seconds())],
            ["pending_at_end", review.pending_at_end],
        ]
