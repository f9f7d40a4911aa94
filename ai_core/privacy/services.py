"""Retention: visitor requests older than ``RETENTION_DAYS`` lose what was asked, answered and who
asked (anonymise), or are deleted, by the beat task ``ai_core.purge_expired_requests``.

Kept whatever their age: requests not finished (pending, processing, awaiting review), the site's
own requests (page summaries: they are page content, not visitors' questions), the requests an
active approved answer was approved from (it is served from them), and whatever the site's
``RETENTION_KEEP`` hook names (review: items still pending). An approved answer retired or
superseded for longer than the retention period loses its copy of the question and its embedding
(unless a re-review of it is open). Other apps holding copies of an anonymised request's text hear
of it through ``ai_core.signals.requests_anonymised``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import BigIntegerField, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.module_loading import import_string

from ai_core.models import AIFeedback, AIRequest, ApprovedAnswer
from ai_core.selectors.visibility import SYSTEM_SESSION_KEY
from ai_core.signals import requests_anonymised

from .conf import ANONYMISE, privacy_settings

logger = logging.getLogger(__name__)

# A run stops after this many batches; the next beat run continues (oldest first).
MAX_BATCHES_PER_RUN = 200


@dataclass(kw_only=True, frozen=True)
class PurgeReport:
    action: str  # "off", "anonymise" or "delete"
    purged: int = 0
    cutoff: datetime | None = None


def ai_request_ids_serving_approved_answers() -> QuerySet:
    """Requests an active approved answer was approved from: visitors are still being answered
    from them, so they keep their question and text while the answer is in use."""
    return ApprovedAnswer.objects.filter(
        status=ApprovedAnswer.Status.ACTIVE, source_request__isnull=False
    ).values("source_request_id")


def _not_yet_anonymised() -> Q:
    return (
        ~Q(payload={})
        | ~Q(result="")
        | Q(user__isnull=False)
        | ~Q(session_key="")
        | Q(client_ip__isnull=False)
    )


def ai_requests_expired(*, now: datetime | None = None) -> QuerySet:
    """Requests due for retention now, oldest first (none while ``RETENTION_DAYS`` is unset)."""
    settings = privacy_settings()
    if settings.retention is None:
        return AIRequest.objects.none()
    cutoff = (now or timezone.now()) - settings.retention
    expired = (
        AIRequest.objects.filter(created_at__lt=cutoff, status__in=AIRequest.TERMINAL)
        # The site's own requests (page summaries) are page content; a decided re-review of an
        # approved answer is not: it carries the visitor's question.
        .exclude(Q(session_key=SYSTEM_SESSION_KEY) & ~Q(payload__has_key=ApprovedAnswer.REREVIEW_PAYLOAD_KEY))
        .exclude(pk__in=ai_request_ids_serving_approved_answers())
    )
    if settings.retention_keep:
        expired = expired.exclude(pk__in=import_string(settings.retention_keep)())
    if settings.retention_action == ANONYMISE:
        expired = expired.filter(_not_yet_anonymised())
    return expired.order_by("created_at", "pk")


def approved_answers_out_of_use_expired(*, cutoff: datetime) -> QuerySet:
    """Approved answers retired or superseded before ``cutoff`` that still hold the visitor's
    question (and its embedding), except those a reviewer has yet to re-approve (a re-review
    request is open for them: re-approving copies the question)."""
    rereview_open = (
        AIRequest.objects.filter(
            status=AIRequest.Status.AWAITING_REVIEW, payload__has_key=ApprovedAnswer.REREVIEW_PAYLOAD_KEY
        )
        .annotate(
            answer_pk=Cast(
                KeyTextTransform(ApprovedAnswer.REREVIEW_PAYLOAD_KEY, "payload"), BigIntegerField()
            )
        )
        .values("answer_pk")
    )
    return (
        ApprovedAnswer.objects.exclude(status=ApprovedAnswer.Status.ACTIVE)
        .filter(retired_at__lt=cutoff)
        .exclude(question="", embedding__isnull=True)
        .exclude(pk__in=rereview_open)
    )


def _anonymise(ids: list) -> None:
    AIRequest.objects.filter(pk__in=ids).update(
        payload={}, result="", user=None, session_key="", client_ip=None, updated_at=timezone.now()
    )
    AIFeedback.objects.filter(request_id__in=ids).update(comment="", user=None, session_key="")
    requests_anonymised.send(sender=AIRequest, request_ids=ids)


def ai_requests_purge_expired(*, now: datetime | None = None) -> PurgeReport:
    """Anonymise or delete what retention says is due, in batches of ``BATCH_SIZE`` rows each in
    its own transaction. Off (``RETENTION_DAYS`` None) does nothing."""
    settings = privacy_settings()
    if settings.retention is None:
        return PurgeReport(action="off")
    now = now or timezone.now()
    purged = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        with transaction.atomic():
            # Locked and skipped if locked: a row a reviewer or worker is touching waits for the next run.
            ids = list(
                ai_requests_expired(now=now)
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[: settings.batch_size]
            )
            if not ids:
                break
            if settings.retention_action == ANONYMISE:
                _anonymise(ids)
            else:
                AIRequest.objects.filter(pk__in=ids).delete()
        purged += len(ids)
        if len(ids) < settings.batch_size:
            break
    # The copy of the question an approved answer keeps goes once the answer has been out of use
    # for the retention period (its request, no longer protected by it, goes by the rule above).
    forgotten = approved_answers_out_of_use_expired(cutoff=now - settings.retention).update(
        question="", embedding=None
    )
    if forgotten:
        logger.info("retention: %d approved answer(s) out of use lost their question", forgotten)
    if purged:
        logger.info(
            "retention: %s %d request(s) older than %s days",
            settings.retention_action,
            purged,
            settings.retention_days,
        )
    return PurgeReport(action=settings.retention_action, purged=purged, cutoff=now - settings.retention)
