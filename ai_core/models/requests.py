import uuid

from django.conf import settings
from django.db import models


class AIRequest(models.Model):
    """One unit of AI work, submitted over HTTP and carried out by a Celery task.

    The row is created before anything is enqueued and is never deleted by the pipeline, so a
    crash anywhere leaves a visible record rather than a lost request.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        AWAITING_REVIEW = "awaiting_review", "Awaiting review"

    TERMINAL = frozenset({Status.DONE, Status.FAILED, Status.CANCELLED})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="ai_requests"
    )
    # Anonymous visitors own their requests through the session.
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    prompt_key = models.CharField(max_length=100, db_index=True)
    prompt_version = models.PositiveIntegerField()
    payload = models.JSONField(default=dict)
    # Page the request is about (a Wagtail page id); kept loose so ai_core stays page-agnostic.
    page_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    # Where it was asked: the Wagtail Site serving the visitor's host and the content language, both
    # plain values (ai_core has no page or site model). Retrieval searches only this site's chunks
    # (and documents shared by every site) in this locale; ``None`` means no site, i.e. shared
    # documents only, so a caller that forgets to say where it is asking can never read every site.
    site_id = models.PositiveIntegerField(null=True, blank=True)
    locale = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    result = models.TextField(blank=True)
    error = models.TextField(blank=True, help_text="Safe to show to the person who asked.")
    error_code = models.CharField(max_length=50, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    model_used = models.CharField(max_length=100, blank=True)
    citations = models.JSONField(default=list, blank=True)
    cited_chunk_ids = models.JSONField(default=list, blank=True)
    # Answered at once with this reviewer-approved answer (no model call); its date is shown.
    approved_answer = models.ForeignKey(
        "ai_core.ApprovedAnswer", null=True, blank=True, on_delete=models.SET_NULL, related_name="reuses"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the person who asked pressed Stop. Redis carries the stop to a generating worker at its
    # next token; this copy is what the worker reads while Redis is down.
    stop_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "AI request"
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.prompt_key}@v{self.prompt_version} {self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL
