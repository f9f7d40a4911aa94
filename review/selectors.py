"""Reads for the review queue: counts for the dashboard and menu, sources for the inspect screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, QuerySet
from wagtail.log_actions import registry as log_registry

from ai_core.selectors import PercentileCont, range_bounds

from . import rules
from .models import ReviewItem

APPROVE_PERMISSION = "review.approve_reviewitem"


@dataclass(kw_only=True, frozen=True)
class PriorityCount:
    value: int
    label: str
    count: int


@dataclass(kw_only=True)
class QueueSummary:
    by_priority: list[PriorityCount] = field(default_factory=list)
    total: int = 0
    oldest_created_at: datetime | None = None


def review_queue_summary() -> QueueSummary:
    """Pending items by priority (highest first) and when the oldest arrived."""
    pending = ReviewItem.objects.filter(status=ReviewItem.Status.PENDING)
    rows = dict(pending.values_list("priority").annotate(n=Count("pk")).order_by())
    oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
    by_priority = [
        PriorityCount(value=value, label=label, count=rows.get(value, 0))
        for value, label in sorted(ReviewItem.Priority.choices, reverse=True)
    ]
    return QueueSummary(by_priority=by_priority, total=sum(rows.values()), oldest_created_at=oldest)


def review_pending_count() -> int:
    return ReviewItem.objects.filter(status=ReviewItem.Status.PENDING).count()


@dataclass(kw_only=True)
class SourceView:
    """One source the model was given, as the reviewer sees it."""

    number: int
    title: str
    url: str
    text: str = ""
    cited: bool = False
    chunk_id: str = ""
    page_id: int | None = None
    # A document's passage: the PDF page it is on, and that page's whole text (the passages of
    # the page, in order), so the reviewer reads the sentence in its context.
    document_page: int | None = None
    page_text: str = ""


def _chunks_by_id(chunk_ids: list[str]) -> dict[str, object]:
    """Chunk rows from the RAG store, when that app is installed (it is optional for ai_core)."""
    if not chunk_ids or not apps.is_installed("ai_core.rag"):
        return {}
    from ai_core.rag.models import KnowledgeChunk

    ids = [int(i) for i in chunk_ids if str(i).isdigit()]
    return {str(chunk.pk): chunk for chunk in KnowledgeChunk.objects.filter(pk__in=ids)}


def review_item_sources(*, item: ReviewItem) -> list[SourceView]:
    """The sources the model was given, numbered as in its output, with the chunk text where the
    chunk still exists (a re-indexed page may have replaced it; the citation title and link remain)."""
    ai_request = item.ai_request
    citations = ai_request.citations or []
    chunks = _chunks_by_id([str(c.get("chunk_id", "")) for c in citations])
    cited = rules.cited_numbers(item.original_text)
    pages = _document_page_texts(chunks.values())
    sources = []
    for citation in citations:
        chunk = chunks.get(str(citation.get("chunk_id", "")))
        document_page = getattr(chunk, "page", None)
        sources.append(
            SourceView(
                number=int(citation.get("number", 0)),
                title=citation.get("title", ""),
                url=getattr(chunk, "anchor_url", "") or citation.get("url", ""),
                text=getattr(chunk, "text", ""),
                cited=int(citation.get("number", 0)) in cited,
                chunk_id=str(citation.get("chunk_id", "")),
                page_id=getattr(chunk, "page_id", None),
                document_page=document_page,
                page_text=pages.get((getattr(chunk, "document_id", None), document_page), ""),
            )
        )
    return sources


def _document_page_texts(chunks) -> dict[tuple[int, int], str]:
    """(document id, page) -> the text of that page, from the stored chunks of the documents cited
    (chunks never straddle a page; overlapping sentences are kept once). One query."""
    wanted = {(c.document_id, c.page) for c in chunks if getattr(c, "document_id", None) and c.page}
    if not wanted:
        return {}
    from ai_core.rag.models import KnowledgeChunk

    sentences: dict[tuple[int, int], list[str]] = {}
    rows = KnowledgeChunk.objects.filter(document_id__in={d for d, _ in wanted}).order_by(
        "document_id", "position"
    )
    for row in rows.only("page_id", "document_id", "block_ids", "text", "position"):
        key = (row.document_id, row.page)
        if key in wanted:
            seen = sentences.setdefault(key, [])
            seen.extend(line for line in row.text.split("\n") if line.strip() and line not in seen)
    return {key: "\n".join(lines) for key, lines in sentences.items()}


def review_item_history(*, item: ReviewItem) -> QuerySet:
    """Audit-log entries of this item, newest first (flagging, decisions, escalation)."""
    return log_registry.get_logs_for_instance(item).select_related("user").order_by("-timestamp", "-pk")


def reviewer_emails() -> list[str]:
    """Active users holding the approve permission, through a group or directly."""
    app_label, codename = APPROVE_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if permission is None:
        return []
    users = (
        get_user_model()
        .objects.filter(Q(groups__permissions=permission) | Q(user_permissions=permission), is_active=True)
        .exclude(email="")
        .distinct()
    )
    return sorted({user.email for user in users})


@dataclass(kw_only=True, frozen=True)
class ReviewThroughput:
    created: int
    decided: int
    approved: int
    approved_with_edits: int
    rejected: int
    median_time_to_decision: timedelta | None
    pending_at_end: int


def review_throughput(*, start: date, end: date) -> ReviewThroughput:
    """Items flagged and decided in the range, the median wait for a decision, and the queue left
    at the end of the range (items flagged by then and not yet decided by then), in one query."""
    since, until = range_bounds(start=start, end=end)
    decided = Q(decided_at__gte=since, decided_at__lt=until)
    status = ReviewItem.Status
    totals = ReviewItem.objects.order_by().aggregate(
        created=Count("pk", filter=Q(created_at__gte=since, created_at__lt=until)),
        decided=Count("pk", filter=decided),
        approved=Count("pk", filter=decided & Q(status=status.APPROVED)),
        approved_with_edits=Count("pk", filter=decided & Q(status=status.APPROVED_WITH_EDITS)),
        rejected=Count("pk", filter=decided & Q(status=status.REJECTED)),
        median_time_to_decision=PercentileCont(
            ExpressionWrapper(F("decided_at") - F("created_at"), output_field=DurationField()),
            fraction=0.5,
            filter=decided,
            output_field=DurationField(),
        ),
        pending_at_end=Count(
            "pk", filter=Q(created_at__lt=until) & (Q(decided_at__isnull=True) | Q(decided_at__gte=until))
        ),
    )
    return ReviewThroughput(**totals)
