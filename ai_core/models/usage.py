from decimal import Decimal

from django.db import models


class LLMUsageLog(models.Model):
    """One row per provider call (a fallback chain can make several per request).

    Cost is computed from the price table when the row is written and stored as a Decimal, so a
    later price change never rewrites history.
    """

    class Operation(models.TextChoices):
        GENERATION = "generation", "Generation"
        EMBEDDING = "embedding", "Embedding"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"
        CACHE_HIT = "cache_hit", "Cache hit"
        # Answered with a reviewer-approved answer: no provider call, zero tokens.
        APPROVED_ANSWER = "approved_answer", "Approved answer reused"

    request = models.ForeignKey(
        "ai_core.AIRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_logs"
    )
    operation = models.CharField(max_length=20, choices=Operation.choices, default=Operation.GENERATION)
    prompt_key = models.CharField(max_length=100, blank=True, db_index=True)
    prompt_version = models.PositiveIntegerField(null=True, blank=True)
    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=100, db_index=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.OK)
    error_code = models.CharField(max_length=50, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    # What an embedding call indexed: ("page", 42) or ("document", 7).
    subject_type = models.CharField(max_length=30, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "LLM usage log"
        # Costs per user and page are management information, not something every editor needs.
        permissions = [("view_ai_dashboard", "Can view the AI usage and quality dashboard")]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.operation} {self.model} {self.cost_usd} USD"
