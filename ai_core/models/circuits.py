from django.db import models


class CircuitEvent(models.Model):
    """A circuit breaker changing state, kept in the database for reporting.

    The breakers themselves live in Redis, whose counters vanish on a restart; the dashboard needs
    "how often did this model's circuit open last month", so each transition also leaves a row.
    Written best-effort: losing a row is acceptable, failing a model call because of it is not.
    """

    class Event(models.TextChoices):
        OPENED = "opened", "Opened"
        REOPENED = "reopened", "Re-opened after a failed probe"
        CLOSED = "closed", "Closed after a successful probe"

    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=100)
    event = models.CharField(max_length=10, choices=Event.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "circuit breaker event"

    def __str__(self) -> str:
        return f"{self.provider}:{self.model} {self.event}"
