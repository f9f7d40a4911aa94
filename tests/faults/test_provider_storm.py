"""A provider 529 storm: every request is served by a fallback or fails cleanly, none hangs, the
site never answers 500, and the circuits of the overloaded models open."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ai_core.models import LLMUsageLog
from tests.conftest import wait_for

from .stack import wait_all_finished

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

REQUESTS = 20
SONNET, HAIKU = "claude-sonnet-4-6", "claude-haiku-4-5"
THRESHOLD = 3


def test_a_529_storm_is_absorbed_by_fallbacks_and_the_circuits_open(fault_stack, fake_provider, fault_counts):
    started = time.monotonic()
    # Anthropic is overloaded for the whole run; the OpenAI-compatible server is overloaded for its
    # first calls (fewer than open its circuit), so those answers come from the offline local provider.
    fake_provider.script(path="/v1/messages", status=529, times=10_000)
    fake_provider.script(path="/chat/completions", status=529, times=THRESHOLD - 1)
    stack = fault_stack(
        "storm",
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake_provider.base_url,
        OPENAI_BASE_URL=f"{fake_provider.base_url}/v1",
        AI_BREAKER_THRESHOLD=str(THRESHOLD),
        AI_BREAKER_COOLDOWN_S="300",  # no half-open probe during the run: the count below is exact
        AI_ANON_RATE_LIMIT_REQUESTS="1000",
        AI_BUDGET_ANON_IP_DAILY_TOKENS="10000000",
        AI_REVIEW_WEAK_GROUNDING="false",
    )

    def ask(n: int) -> tuple[int, str | None]:
        visitor = stack.visitor()  # one anonymous session per visitor, all at once
        try:
            response = visitor.ask(f"Question {n}: can I cancel my plan within 14 days?")
            return response.status_code, response.json().get("id") if response.status_code == 202 else None
        finally:
            visitor.close()

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        answers = list(pool.map(ask, range(REQUESTS)))
    assert [status for status, _ in answers] == [202] * REQUESTS, answers
    ids = [request_id for _, request_id in answers]

    statuses = wait_all_finished(ids, timeout=180)
    fault_counts.tally(list(statuses.values()))
    fault_counts.http_500 = stack.http_500
    fault_counts.seconds = time.monotonic() - started
    models = list(
        LLMUsageLog.objects.filter(request_id__in=ids, outcome=LLMUsageLog.Outcome.OK).values_list(
            "request_id", "model"
        )
    )
    served_by = sorted({model for _, model in models})
    fault_counts.notes.append(
        f"answered by {served_by}; anthropic called {len(fake_provider.requests_for(path='/v1/messages'))}x"
    )
    fault_counts.duplicated = len(models) - len({request_id for request_id, _ in models})

    assert fault_counts.lost == 0, f"{statuses}\n{stack.worker_log()}"
    assert stack.http_500 == 0
    assert fault_counts.duplicated == 0
    # With a local fallback nothing needs to fail; a failure would have to be a clean one.
    assert fault_counts.completed + fault_counts.failed_cleanly == REQUESTS
    assert set(served_by) <= {"gpt-4o-mini", "extractive-minilm"} and len(served_by) == 2
    # The breakers did their job: each overloaded model was called only until its circuit opened.
    assert len(fake_provider.requests_for(path="/v1/messages", model=SONNET)) == THRESHOLD
    assert len(fake_provider.requests_for(path="/v1/messages", model=HAIKU)) == THRESHOLD
    circuits = wait_for(lambda: stack.visitor().healthz(as_operator=True).json().get("circuits"), timeout=10)
    states = {c["name"]: c["state"] for c in circuits}
    fault_counts.notes.append(f"circuits: {states}")
    assert states[f"anthropic:{SONNET}"] == states[f"anthropic:{HAIKU}"] == "open"
