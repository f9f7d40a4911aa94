from django.conf import settings
from django.db import models


class BudgetOverride(models.Model):
    """A per-user daily token budget that replaces the default (editable in the Wagtail admin)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ai_budget")
    daily_tokens = models.PositiveIntegerField(help_text="Tokens this user may spend per day (UTC).")
    note = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI budget override"

    def __str__(self) -> str:
        return f"{self.user}: {self.daily_tokens} tokens/day"


class BudgetReservation(models.Model):
    """The tokens held for one request at submit time, and what it finally cost.

    Settling is guarded by ``settled_at`` so a redelivered task can never charge twice.
    """

    request = models.OneToOneField(
        "ai_core.AIRequest", on_delete=models.CASCADE, related_name="budget_reservation"
    )
    day = models.DateField()
    scopes = models.JSONField(help_text="Redis budget counters this reservation was taken from.")
    reserved_tokens = models.PositiveIntegerField()
    actual_tokens = models.PositiveIntegerField(null=True, blank=True)
    downgraded = models.BooleanField(
        default=False, help_text="Past the soft limit: routed to the cheaper tier."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.reserved_tokens} tokens for {self.request_id}"
