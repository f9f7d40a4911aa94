import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ai_core.models import AIFeedback, AIRequest
from ai_core.providers.base import Usage
from ai_core.services.usage import usage_log_record
from review.models import ReviewItem

pytestmark = pytest.mark.django_db


def report(*args) -> str:
    out = StringIO()
    call_command("ai_quality_report", *args, stdout=out)
    return out.getvalue()


def test_the_report_counts_requests_cost_and_approval_per_prompt_version():
    today = timezone.now().astimezone(dt.UTC).date().isoformat()
    done = AIRequest.objects.create(prompt_key="rag_answer", prompt_version=2, status="done")
    AIRequest.objects.create(prompt_key="rag_answer", prompt_version=2, status="failed", error_code="timeout")
    usage_log_record(operation="generation", provider="anthropic", model="claude-haiku-4-5",
                     usage=Usage(input_tokens=10**6), latency_ms=3, request=done, prompt_key="rag_answer")  # fmt: skip
    for n, vote in enumerate(["up", "up", "down"]):
        AIFeedback.objects.create(request=done, session_key=f"s{n}", vote=vote, prompt_key="rag_answer",
                                  prompt_version=2)  # fmt: skip
    text = report("--date", today)
    assert "done 1" in text and "failed 1" in text
    assert "timeout 1" in text
    assert "Cost: $1.000000" in text
    assert "rag_answer v2: 2/3 (67% helpful)" in text


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "2999-01-01"])
def test_bad_dates_exit_non_zero_with_a_reason(bad):
    with pytest.raises(CommandError, match="--date"):
        report("--date", bad)


def test_the_report_shows_review_work_cost_per_model_and_the_commonest_failure_first():
    """The report reads the dashboard's selectors for one day, so both say the same thing."""
    day = timezone.now().astimezone(dt.UTC).date()
    for code in ["timeout", "rate_limited", "rate_limited"]:
        AIRequest.objects.create(prompt_key="rag_answer", prompt_version=2, status="failed", error_code=code)
    held = [
        AIRequest.objects.create(prompt_key="rag_answer", prompt_version=2, status="awaiting_review")
        for _ in range(3)
    ]
    approved, rejected, _pending = (ReviewItem.objects.create(ai_request=r, original_text="x") for r in held)
    now = timezone.now()
    ReviewItem.objects.filter(pk=approved.pk).update(status="approved", decided_at=now)
    ReviewItem.objects.filter(pk=rejected.pk).update(status="rejected", decided_at=now)
    for _ in range(2):
        usage_log_record(operation="generation", provider="anthropic", model="claude-haiku-4-5",
                         usage=Usage(input_tokens=10**6), latency_ms=3, prompt_key="rag_answer")  # fmt: skip
    usage_log_record(operation="embedding", provider="openai", model="text-embedding-3-small",
                     usage=Usage(input_tokens=50), latency_ms=3)  # fmt: skip

    text = report("--date", day.isoformat())

    assert "Failures by reason: rate_limited 2, timeout 1" in text
    assert "  rag_answer / claude-haiku-4-5: $2.000000 (2 calls)" in text
    assert "(embeddings) / text-embedding-3-small" in text
    assert "Review: flagged 3, decided 2 (approved 1, rejected 1), pending now 1" in text
    assert "Requests: pending 0, processing 0, done 0, failed 3, cancelled 0, awaiting_review 3" in text
