"""One ``ReviewItem`` per flagged AI output: what the model said, why it was held, what was decided."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from . import rules


class ReviewItem(models.Model):
    """The decision record for an output held by the gate.

    The visitor-facing text lives on the ``AIRequest``; the item keeps the model's original text so
    an edited or rejected answer can always be traced back to what the model actually produced.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        APPROVED_WITH_EDITS = "approved_with_edits", "Approved with edits"
        REJECTED = "rejected", "Rejected"

    class Kind(models.TextChoices):
        ANSWER = "answer", "Held output"
        # An approved answer whose cited passage changed on publish (review/impact.py).
        SOURCE_CHANGED = "source_changed", "Source changed"

    class Priority(models.IntegerChoices):
        # Integers so that "highest first" is a plain ORDER BY.
        LOW = 10, "Low"
        NORMAL = 20, "Normal"
        HIGH = 30, "High"

    ai_request = models.OneToOneField(
        "ai_core.AIRequest", on_delete=models.CASCADE, related_name="review_item", verbose_name="AI request"
    )
    original_text = models.TextField(blank=True, help_text="The model's output, exactly as generated.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ANSWER, db_index=True)
    # A "source changed" item: the approved answer taken out of reuse, and for each cited passage
    # that changed the old and new text of its blocks (``review.impact.SourceChange`` as JSON).
    approved_answer = models.ForeignKey(
        "ai_core.ApprovedAnswer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_items",
    )
    source_changes = models.JSONField(default=list, blank=True)
    reasons = ArrayField(
        models.CharField(
            max_length=40, choices=[(code, label) for code, label in rules.REASON_LABELS.items()]
        ),
        default=list,
        blank=True,
    )
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.NORMAL, db_index=True
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    edited_text = models.TextField(
        blank=True, help_text="What visitors see instead, when approved with edits."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Set once the item has been listed in a mail to reviewers, so a batch never repeats it.
    notified_at = models.DateTimeField(null=True, blank=True)
    # The reviewer who has taken the item on (review/assignment.py); mails about it go to them.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_review_items",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "created_at"]
        verbose_name = "review item"
        permissions = [("approve_reviewitem", "Can approve, edit or reject flagged AI outputs")]
        indexes = [models.Index(fields=["status", "priority", "created_at"], name="review_queue_order")]

    def __str__(self) -> str:
        return f"{self.ai_request.prompt_key} #{self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def reason_labels(self) -> list[str]:
        return [rules.REASON_LABELS.get(code, code) for code in self.reasons]

    @property
    def visible_text(self) -> str:
        """What visitors see (or would see) once approved."""
        return self.edited_text if self.status == self.Status.APPROVED_WITH_EDITS else self.original_text


# The "Legal sign-off on AI impact" workflow task type (its own module; imported so Django loads it).
from .workflow import AIImpactSignoffTask  # noqa: E402, F401
