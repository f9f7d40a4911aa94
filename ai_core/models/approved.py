"""Approved answers: a reviewer's decision kept for reuse, locked to the passages it rests on.

ai_core owns this store rather than the review app behind a hook: the worker reads it on every
visitor question (a vector comparison in the request's scope, then a check of each cited chunk
against the knowledge store), and both halves are ai_core's. The review app writes into it
through ``ai_core.services.approved_answer_create`` in the transaction of the decision, as it
already resolves the held request through ai_core; a hook would have made ai_core call back into
review for a vector search over review's rows, and pages/chunks would then be checked by the app
that knows neither.

Pages and chunks are referenced by plain ids, as in ``ai_core.rag``: a removed chunk must make
the answer unservable (a failed lock check), never silently delete it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from pgvector.django import VectorField


class ApprovedAnswer(models.Model):
    """One approved answer to one visitor question, in one scope (site, locale, page).

    ``sources`` lists the chunks the approved text cites, each with the ``content_hash`` it had
    when the reviewer approved: ``[{"number", "chunk_id", "content_hash", "page_id",
    "document_id", "block_ids", "title", "url", "text"}]`` (``text`` is the passage as approved,
    so a later change can be shown as a diff). It is served only while every one of them still
    has that hash and its page is still live, public and on the asker's site.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        SUPERSEDED = "superseded", "Superseded"

    class RetireReason(models.TextChoices):
        REVIEWER = "reviewer", "Retired by a reviewer"
        SOURCE_CHANGED = "source_changed", "A cited source changed"
        SUPERSEDED = "superseded", "A newer approval of the same question"
        SOURCE_REMOVED = "source_removed", "A cited page or document was unpublished, deleted or made private"

    # The key of a re-review request's payload naming the answer it re-states (``answers.rereview``).
    REREVIEW_PAYLOAD_KEY = "rereview_of"

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    # The question as asked, and its embedding (computed in the worker: null until then, and an
    # answer without one is never served).
    question = models.TextField()
    embedding = VectorField(null=True, blank=True)
    embedder_id = models.CharField(max_length=100, blank=True)
    # Scope, as on AIRequest: None site = no site (shared documents only); page when asked on a page.
    site_id = models.PositiveIntegerField(null=True, blank=True)
    locale = models.CharField(max_length=20, blank=True)
    page_id = models.PositiveIntegerField(null=True, blank=True)
    prompt_key = models.CharField(max_length=100)
    prompt_version = models.PositiveIntegerField()
    text = models.TextField(help_text="The approved text visitors are shown.")
    edited = models.BooleanField(default=False, help_text="Approved with edits.")
    sources = models.JSONField(default=list)
    # Denormalised from ``sources`` for "which approved answers cite this chunk / page?" (GIN).
    cited_chunk_ids = ArrayField(models.BigIntegerField(), default=list)
    cited_page_ids = ArrayField(models.PositiveIntegerField(), default=list)
    # What the approved output cost to generate: each reuse avoids about that much.
    generation_cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    source_request = models.ForeignKey(
        "ai_core.AIRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approved_answers",
        help_text="The visitor request the reviewer approved.",
    )
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="superseded_by"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_reason = models.CharField(max_length=20, choices=RetireReason.choices, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hits = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-approved_at"]
        verbose_name = "approved answer"
        permissions = [("retire_approvedanswer", "Can retire approved answers from reuse")]
        indexes = [
            models.Index(
                fields=["prompt_key", "site_id", "locale", "page_id"],
                condition=Q(status="active"),
                name="ai_approved_active_scope",
            ),
            GinIndex(fields=["cited_chunk_ids"], name="ai_approved_chunks_gin"),
            GinIndex(fields=["cited_page_ids"], name="ai_approved_pages_gin"),
        ]

    def __str__(self) -> str:
        return f"approved answer #{self.pk}: {self.question[:60]}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE
