"""The daily AI quality summary: volume, failures, cost, feedback per prompt version, review work
and stale outputs. Every number is a database aggregate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q, Sum
from django.utils import timezone

from ai_core.models import AIFeedback, AIRequest, LLMUsageLog
from ai_core.rag.models import OutputProvenance
from review.models import ReviewItem


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


class Command(BaseCommand):
    help = "Print the AI quality report for one UTC day (default: yesterday)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day to report, YYYY-MM-DD (UTC). Default: yesterday.")

    def handle(self, *args, date: str | None = None, **options):
        if date is None:
            day = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=1)
        else:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError as err:
                raise CommandError(f"--date must be a date as YYYY-MM-DD, got {date!r}.") from err
            if day > timezone.now().astimezone(dt.UTC).date():
                raise CommandError(f"--date {date} is in the future.")
        start, end = _day_bounds(day)
        out = self.stdout.write
        out(f"AI quality report for {day.isoformat()} (UTC)\n")

        requests = AIRequest.objects.filter(created_at__gte=start, created_at__lt=end)
        by_status = dict(requests.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        out("Requests: " + ", ".join(f"{s} {by_status.get(s, 0)}" for s in AIRequest.Status.values))
        failures = (
            requests.filter(status=AIRequest.Status.FAILED).values("error_code").annotate(n=Count("id"))
        )
        if failures:
            out(
                "Failures by reason: "
                + ", ".join(f"{f['error_code'] or 'unknown'} {f['n']}" for f in failures)
            )

        logs = LLMUsageLog.objects.filter(created_at__gte=start, created_at__lt=end)
        cost = logs.aggregate(total=Sum("cost_usd"))["total"] or Decimal("0")
        out(f"Cost: ${cost:.6f} over {logs.count()} provider calls")
        for row in (
            logs.values("prompt_key", "model").annotate(cost=Sum("cost_usd"), n=Count("id")).order_by("-cost")
        ):
            out(
                f"  {row['prompt_key'] or '(embeddings)'} / {row['model']}: ${row['cost']:.6f} ({row['n']} calls)"
            )

        out("\nFeedback (approval rate per prompt version):")
        feedback = (
            AIFeedback.objects.filter(updated_at__gte=start, updated_at__lt=end)
            .values("prompt_key", "prompt_version")
            .annotate(up=Count("id", filter=Q(vote="up")), total=Count("id"))
            .order_by("prompt_key", "prompt_version")
        )
        for row in feedback:
            out(f"  {row['prompt_key']} v{row['prompt_version']}: {row['up']}/{row['total']} "
                f"({100 * row['up'] / row['total']:.0f}% helpful)")  # fmt: skip
        if not feedback:
            out("  (no votes)")

        decided = ReviewItem.objects.filter(decided_at__gte=start, decided_at__lt=end)
        decisions = dict(decided.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        out("\nReview: flagged {flagged}, decided {decided} ({detail}), pending now {pending}".format(
            flagged=ReviewItem.objects.filter(created_at__gte=start, created_at__lt=end).count(),
            decided=sum(decisions.values()),
            detail=", ".join(f"{k} {v}" for k, v in sorted(decisions.items())) or "none",
            pending=ReviewItem.objects.filter(status=ReviewItem.Status.PENDING).count(),
        ))  # fmt: skip
        stale = OutputProvenance.objects.filter(stale_at__gte=start, stale_at__lt=end).count()
        out(f"Stale outputs: {stale} marked stale that day")
