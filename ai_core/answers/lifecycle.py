"""Taking an approved answer out of service: the one write both the services and the embedding
step make, in a module of its own so neither imports the other."""

from __future__ import annotations

from django.utils import timezone

from ai_core.models import ApprovedAnswer


def retire(
    answer: ApprovedAnswer, *, reason: str, status: str = ApprovedAnswer.Status.RETIRED, user=None
) -> None:
    answer.status, answer.retired_at, answer.retired_reason = status, timezone.now(), reason
    answer.retired_by = user
    answer.save(update_fields=["status", "retired_at", "retired_reason", "retired_by"])
