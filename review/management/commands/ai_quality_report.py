"""The daily AI quality summary: volume, failures, cost, feedback per prompt version, review work
and stale outputs. Every number is a database aggregate."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from ai_core.rag.models import OutputProvenance
from ai_core.selectors import (
    feedback_by_prompt_version,
    range_bounds,
    request_counts,
    usage_by_prompt_key_and_model,
    usage_totals,
)
from ai_core.services import today
from review.models import ReviewItem
from review.selectors import review_pending_count, review_throughput


class Command(BaseCommand):
    help = "Print the AI quality report for one UTC day (default: yesterday)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day to report, YYYY-MM-DD (UTC). Default: yesterday.")

    def handle(self, *args, date: str | None = None, **options):
        if date is None:
            day = today() - dt.timedelta(days=1)
        else:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError as err:
                raise CommandError(f"--date must be a date as YYYY-MM-DD, got {date!r}.") from err
            if day > today():
                raise CommandError(f"--date {date} is in the future.")
        # The dashboard's selectors over one day: the report and the dashboard cannot disagree.
        span = {"start": day, "end": day}
        out = self.stdout.write
        out(f"AI quality report for {day.isoformat()} (UTC)\n")

        counts = request_counts(**span)
        out("Requests: " + ", ".join(f"{status} {n}" for status, n in counts.by_status.items()))
        if counts.failures:
            out("Failures by reason: " + ", ".join(f"{row.code} {row.count}" for row in counts.failures))

        totals = usage_totals(**span)
        out(f"Cost: ${totals.cost:.6f} over {totals.calls} provider calls")
        for row in usage_by_prompt_key_and_model(**span):
            out(f"  {row.prompt_key or '(embeddings)'} / {row.model}: ${row.cost:.6f} ({row.calls} calls)")

        out("\nFeedback (approval rate per prompt version):")
        feedback = feedback_by_prompt_version(**span)
        for row in feedback:
            out(f"  {row.prompt_key} v{row.prompt_version}: {row.up}/{row.total} "
                f"({100 * row.approval_rate:.0f}% helpful)")  # fmt: skip
        if not feedback:
            out("  (no votes)")

        review = review_throughput(**span)
        decisions = {
            ReviewItem.Status.APPROVED: review.approved,
            ReviewItem.Status.APPROVED_WITH_EDITS: review.approved_with_edits,
            ReviewItem.Status.REJECTED: review.rejected,
        }
        detail = ", ".join(f"{status} {n}" for status, n in sorted(decisions.items()) if n) or "none"
        out(f"\nReview: flagged {review.created}, decided {review.decided} ({detail}), "
            f"pending now {review_pending_count()}")  # fmt: skip
        since, until = range_bounds(**span)
        stale = OutputProvenance.objects.filter(stale_at__gte=since, stale_at__lt=until).count()
        out(f"Stale outputs: {stale} marked stale that day")
