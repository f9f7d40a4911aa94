from django.conf import settings
from django.db import models


class AIFeedback(models.Model):
    """A visitor's or user's thumbs up/down on one output. One vote per person per output; voting
    again changes it. The prompt key and version are copied so approval rates survive prompt edits."""

    class Vote(models.TextChoices):
        UP = "up", "Helpful"
        DOWN = "down", "Not helpful"

    request = models.ForeignKey("ai_core.AIRequest", on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    session_key = models.CharField(max_length=64, blank=True)
    vote = models.CharField(max_length=4, choices=Vote.choices)
    comment = models.TextField(blank=True, max_length=1000)
    prompt_key = models.CharField(max_length=100, db_index=True)
    prompt_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI feedback"
        verbose_name_plural = "AI feedback"
        constraints = [
            models.UniqueConstraint(
                fields=["request", "user"], condition=models.Q(user__isnull=False), name="one_vote_per_user"
            ),
            models.UniqueConstraint(
                fields=["request", "session_key"],
                condition=models.Q(user__isnull=True),
                name="one_vote_per_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vote} on {self.request_id}"
