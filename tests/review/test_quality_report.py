import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ai_core.models import AIFeedback, AIRequest
from ai_core.providers.base import Usage
from ai_core.services.usage import usage_log_record

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
