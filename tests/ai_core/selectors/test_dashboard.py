"""The dashboard's numbers, computed by the database from rows with known values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError
from django.utils import timezone

from ai_core.models import AIRequest, CircuitEvent, LLMUsageLog
from ai_core.resilience.breaker import BreakerConfig, CircuitBreaker
from ai_core.resilience.runtime import breaker_for
from ai_core.selectors import dashboard
from review.models import ReviewItem
from review.selectors import review_throughput

from .usage_rows import DAY, ai_request, at, usage_row, vote

pytestmark = pytest.mark.django_db
D = dt.timedelta(days=1)
ERROR, OK, CACHE_HIT = LLMUsageLog.Outcome.ERROR, LLMUsageLog.Outcome.OK, LLMUsageLog.Outcome.CACHE_HIT


def test_cost_per_day_lists_every_day_of_the_range_with_zero_for_quiet_days():
    usage_row(day=DAY, cost="0.10", input_tokens=100, output_tokens=10)
    usage_row(day=DAY, hour=23, cost="0.05", input_tokens=50, output_tokens=5)
    usage_row(day=DAY + 2 * D, hour=0, cost="0.20", input_tokens=200)
    usage_row(day=DAY - D, hour=23, cost="9")  # before the range
    usage_row(day=DAY + 4 * D, hour=0, cost="9")  # after the range

    days = dashboard.usage_by_day(start=DAY, end=DAY + 3 * D)

    assert [d.day for d in days] == [DAY, DAY + D, DAY + 2 * D, DAY + 3 * D]
    assert [d.cost for d in days] == [Decimal("0.15"), 0, Decimal("0.20"), 0]
    assert [d.input_tokens for d in days] == [150, 0, 200, 0]
    assert [d.calls for d in days] == [2, 0, 1, 0]
    assert dashboard.usage_totals(start=DAY, end=DAY + 3 * D).cost == Decimal("0.35")


def test_cost_is_broken_down_by_prompt_model_user_and_page(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    by_alice = ai_request(prompt_key="rag_answer", user=alice, page_id=42)
    by_bob = ai_request(prompt_key="page_summary", user=bob, page_id=7)
    anonymous = ai_request(prompt_key="rag_answer")
    usage_row(request=by_alice, cost="0.30")
    usage_row(request=by_alice, cost="0.10", model="claude-haiku-4-5")
    usage_row(request=by_bob, cost="0.05")
    usage_row(request=anonymous, cost="0.02")
    usage_row(cost="0.01", model="minilm", provider="local", subject_type="page", subject_id="42")
    usage_row(cost="0.005", model="minilm", provider="local", subject_type="document", subject_id="abc")

    span = {"start": DAY, "end": DAY}
    by_key = {row.label: row.cost for row in dashboard.usage_by_prompt_key(**span)}
    assert by_key == {
        "rag_answer": Decimal("0.42"),
        "page_summary": Decimal("0.05"),
        "(indexing: embeddings)": Decimal("0.015"),
    }
    by_model = {row.label: row.cost for row in dashboard.usage_by_model(**span)}
    assert by_model == {
        "anthropic:claude-sonnet-4-6": Decimal("0.37"),
        "anthropic:claude-haiku-4-5": Decimal("0.10"),
        "local:minilm": Decimal("0.015"),
    }
    by_user = [(row.key, row.label, row.cost) for row in dashboard.usage_by_user(**span)]
    assert by_user == [
        (alice.pk, "alice", Decimal("0.40")),
        (bob.pk, "bob", Decimal("0.05")),
        (None, "(anonymous visitors)", Decimal("0.02")),
    ]
    # Page 42: the answer about it plus the embedding that indexed it.
    by_page = [(row.key, row.cost) for row in dashboard.usage_by_page(**span)]
    assert by_page == [(42, Decimal("0.41")), (7, Decimal("0.05")), (None, Decimal("0.025"))]
    assert [row.key for row in dashboard.usage_by_page(**span, limit=1)] == [42]


def test_latency_percentiles_per_prompt_key_count_only_successful_calls():
    for latency in range(100, 1001, 100):
        usage_row(prompt_key="rag_answer", latency_ms=latency, operation=LLMUsageLog.Operation.GENERATION)
    usage_row(prompt_key="rag_answer", latency_ms=60_000, outcome=ERROR, error_code="timeout")
    usage_row(prompt_key="rag_answer", latency_ms=0, outcome=CACHE_HIT)
    usage_row(prompt_key="page_summary", latency_ms=2000, operation=LLMUsageLog.Operation.GENERATION)

    rows = {row.prompt_key: row for row in dashboard.latency_by_prompt_key(start=DAY, end=DAY)}

    assert rows["rag_answer"].calls == 10
    assert rows["rag_answer"].p50_ms == pytest.approx(550.0)
    assert rows["rag_answer"].p95_ms == pytest.approx(955.0)  # interpolated between 900 and 1000
    assert (rows["page_summary"].p50_ms, rows["page_summary"].p95_ms) == (2000.0, 2000.0)


def test_a_fallback_is_an_answer_after_a_failed_link_in_the_same_attempt():
    fell_back = ai_request()
    usage_row(request=fell_back, outcome=ERROR, error_code="circuit_open")
    usage_row(request=fell_back, outcome=ERROR, error_code="overloaded", model="claude-haiku-4-5")
    usage_row(request=fell_back, provider="openai", model="gpt-4o-mini")
    first_try = ai_request()
    usage_row(request=first_try)
    retried = ai_request()  # attempt 1 failed everywhere, the Celery retry succeeded at once
    usage_row(request=retried, outcome=ERROR, error_code="rate_limited", attempt=1)
    usage_row(request=retried, attempt=2)
    last_good = ai_request()  # every model failed; the last good cached answer was served
    usage_row(request=last_good, outcome=ERROR, error_code="timeout")
    usage_row(request=last_good, outcome=CACHE_HIT)
    plain_cache_hit = ai_request()
    usage_row(request=plain_cache_hit, outcome=CACHE_HIT)

    fallbacks = dashboard.fallbacks_taken(start=DAY, end=DAY)

    assert fallbacks.requests == 2
    assert {(row.provider, row.model, row.from_cache, row.count) for row in fallbacks.by_link} == {
        ("openai", "gpt-4o-mini", False, 1),
        ("anthropic", "claude-sonnet-4-6", True, 1),
    }
    errors = {row.code: row.count for row in dashboard.provider_errors(start=DAY, end=DAY)}
    assert errors == {"circuit_open": 1, "overloaded": 1, "rate_limited": 1, "timeout": 1}


def test_requests_are_counted_by_status_with_failure_reasons():
    ai_request(status=AIRequest.Status.DONE)
    ai_request(status=AIRequest.Status.FAILED, error_code="unavailable")
    ai_request(status=AIRequest.Status.FAILED, error_code="unavailable")
    ai_request(status=AIRequest.Status.FAILED, error_code="timeout")
    ai_request(status=AIRequest.Status.FAILED, day=DAY + D, error_code="timeout")  # outside

    counts = dashboard.request_counts(start=DAY, end=DAY)

    assert counts.total == 4
    assert counts.by_status["failed"] == 3
    assert counts.by_status["cancelled"] == 0
    assert [(f.code, f.count) for f in counts.failures] == [("unavailable", 2), ("timeout", 1)]


def test_circuit_openings_come_from_a_real_breaker_tripping(settings):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "CIRCUIT_BREAKER": {**settings.AI_CORE["CIRCUIT_BREAKER"], "COOLDOWN_S": 0},
    }
    breaker = breaker_for("anthropic", "claude-sonnet-4-6")
    verdicts = [breaker.record_failure() for _ in range(settings.AI_CORE["CIRCUIT_BREAKER"]["THRESHOLD"])]
    assert verdicts[-1] == "opened"
    assert breaker.allow().failure() == "reopened"  # the half-open probe failed
    assert breaker.allow().success() == "closed"  # the next probe succeeded

    today = timezone.localdate()
    rows = dashboard.circuit_openings(start=today - D, end=today + D)

    assert [(r.provider, r.model, r.opened, r.reopened, r.closed, r.openings) for r in rows] == [
        ("anthropic", "claude-sonnet-4-6", 1, 1, 1, 2)
    ]
    assert dashboard.circuit_openings(start=today - 3 * D, end=today - 2 * D) == []


def test_a_database_failure_never_breaks_the_breaker(monkeypatch, redis_client):
    def fail(**kwargs):
        raise DatabaseError("database is down")

    monkeypatch.setattr(CircuitEvent.objects, "create", fail)
    breaker = breaker_for("anthropic", "claude-haiku-4-5")
    threshold = breaker.config.threshold
    assert [breaker.record_failure() for _ in range(threshold)][-1] == "opened"
    assert breaker.state()["state"] == "open"

    def explode(transition):
        raise RuntimeError("listener bug")

    bare = CircuitBreaker(redis_client, "x:y", BreakerConfig(threshold=1), prefix="lectern-test-dash-bare",
                          on_transition=explode)  # fmt: skip
    try:
        assert bare.record_failure() == "opened"
    finally:
        bare.reset()


def test_approval_rate_is_per_prompt_key_and_version():
    for version, ups, downs in ((1, 3, 1), (2, 1, 1)):
        for index in range(ups + downs):
            request = ai_request(prompt_key="rag_answer", prompt_version=version)
            vote(request=request, up=index < ups, session=f"s{version}-{index}")
    for index in range(2):
        vote(request=ai_request(prompt_key="page_summary"), up=False, session=f"p{index}")
    vote(request=ai_request(prompt_key="page_summary"), up=True, day=DAY + D, session="later")

    rows = dashboard.feedback_by_prompt_version(start=DAY, end=DAY)

    assert [(r.prompt_key, r.prompt_version, r.up, r.down, r.approval_rate) for r in rows] == [
        ("page_summary", 1, 0, 2, 0.0),
        ("rag_answer", 1, 3, 1, 0.75),
        ("rag_answer", 2, 1, 1, 0.5),
    ]


def test_cache_rates_cover_only_the_chosen_days():
    request = ai_request()
    usage_row(request=request, input_tokens=100, cache_read_tokens=300)
    usage_row(request=request, outcome=CACHE_HIT)
    usage_row(request=request, day=DAY + D, input_tokens=10_000)  # next day: not in the range
    usage_row(request=request, day=DAY + D, outcome=CACHE_HIT)

    rates = dashboard.cache_rates(start=DAY, end=DAY)

    assert rates["prompt_cache_hit_rate"] == 0.75
    assert rates["response_cache_hit_rate"] == 0.5


def test_review_throughput_counts_decisions_median_wait_and_the_queue_left(django_user_model):
    def item(*, created: dt.datetime, decided: dt.datetime | None = None, status=ReviewItem.Status.APPROVED):
        held = ReviewItem.objects.create(
            ai_request=ai_request(status=AIRequest.Status.AWAITING_REVIEW),
            status=status if decided else ReviewItem.Status.PENDING,
            decided_at=decided,
        )
        ReviewItem.objects.filter(pk=held.pk).update(created_at=created)

    item(created=at(DAY, 8), decided=at(DAY, 9))  # 1 h
    item(created=at(DAY, 8), decided=at(DAY, 11), status=ReviewItem.Status.REJECTED)  # 3 h
    item(created=at(DAY - D, 20), decided=at(DAY, 1), status=ReviewItem.Status.APPROVED_WITH_EDITS)  # 5 h
    item(created=at(DAY, 10))  # still pending
    item(created=at(DAY, 10), decided=at(DAY + D, 9))  # decided after the range: pending at its end
    item(created=at(DAY + D, 10))  # flagged after the range

    review = review_throughput(start=DAY, end=DAY)

    assert (review.created, review.decided) == (4, 3)
    assert (review.approved, review.approved_with_edits, review.rejected) == (1, 1, 1)
    assert review.median_time_to_decision == dt.timedelta(hours=3)
    assert review.pending_at_end == 2


def test_a_range_must_not_end_before_it_starts():
    with pytest.raises(ValueError):
        dashboard.range_bounds(start=DAY, end=DAY - D)
