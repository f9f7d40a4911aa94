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


class BudgetAlert(models.Model):
    """A prompt key or user whose cost today (UTC) went past its configured daily threshold.

    One row per scope per day, enforced by a unique constraint, so however often (or however
    concurrently) the check runs, a crossing alerts and mails once. Acknowledging hides the admin
    banner for everyone; the row stays as history.
    """

    class Kind(models.TextChoices):
        PROMPT_KEY = "prompt_key", "Prompt key"
        USER = "user", "User"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The prompt key, or the user's primary key as text.
    scope_value = models.CharField(max_length=150)
    # Kept for display and mail; the scope stays identifiable if the user is deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    day = models.DateField(help_text="The UTC day whose cost crossed the threshold.")
    threshold_usd = models.DecimalField(max_digits=14, decimal_places=8)
    cost_usd = models.DecimalField(
        max_digits=14, decimal_places=8, help_text="The day's cost when the alert was raised."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "-created_at"]
        verbose_name = "AI budget alert"
        constraints = [
            models.UniqueConstraint(fields=["kind", "scope_value", "day"], name="budgets_alert_once_per_day")
        ]

    def __str__(self) -> str:
        return (
            f"{self.scope_label}: {self.cost_usd:.2f} USD on {self.day} (threshold {self.threshold_usd:.2f})"
        )

    @property
    def scope_label(self) -> str:
        if self.kind == self.Kind.USER:
            who = self.user.get_username() if self.user_id and self.user else f"#{self.scope_value}"
            return f"user {who}"
        return f"prompt key “{self.scope_value}”"
