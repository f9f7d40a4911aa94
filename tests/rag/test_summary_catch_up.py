"""Page summaries are system work: refused when the system pool is empty, asked for again by the
catch-up beat task when budget returns, and regenerated when a re-index (a new embedder) makes
them stale; a bounded batch per run."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.management import call_command

from ai_core import providers
from ai_core.budgets import services as budgets
from ai_core.models import AIRequest
from ai_core.rag.models import OutputProvenance
from content.models import PageSummary
from content.summaries import page_summaries_catch_up, page_summary_current, pages_needing_summary
from content.tasks import summaries_catch_up

pytestmark = pytest.mark.django_db

ITEMS = [("h2", "Refunds"), ("p", "You can ask for a refund within 30 days of purchase.")]


def set_budgets(settings, *, system: int | None = None, batch: int | None = None) -> None:
    ai = settings.AI_CORE
    pools = dict(ai["BUDGETS"]["POOL_DAILY_TOKENS"])
    if system is not None:
        pools["system"] = system
    settings.AI_CORE = {
        **ai,
        "BUDGETS": {**ai["BUDGETS"], "POOL_DAILY_TOKENS": pools},
        "SUMMARY_CATCH_UP": {"BATCH": batch if batch is not None else ai["SUMMARY_CATCH_UP"]["BATCH"]},
    }


@pytest.fixture
def catch_up(django_capture_on_commit_callbacks):
    """One run of the beat task's service, with the AI requests it queues processed inline."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return page_summaries_catch_up(**kwargs)

    return run


def summary_of(page) -> PageSummary | None:
    page.refresh_from_db()
    return page_summary_current(page)


def test_a_summary_refused_for_budget_is_requested_again_when_budget_returns(
    fake_embedder, section, publish, settings, caplog, catch_up, django_capture_on_commit_callbacks
):
    set_budgets(settings, system=0)
    with caplog.at_level(logging.WARNING, logger="content.tasks"):
        page = publish(section, title="Refunds", slug="refunds", items=ITEMS)
    assert summary_of(page) is None  # refused: nothing was stored, nothing was charged
    assert "refused for budget" in caplog.text
    assert budgets.budget_usage(scope="pool:system") == 0
    assert pages_needing_summary(limit=10) == [page.pk]

    outcome = catch_up()
    assert (outcome.requested, outcome.refused_for_budget) == (0, True)  # still no budget: waits

    set_budgets(settings, system=1_000_000)  # budget returns (a new day, or a raised pool)
    with django_capture_on_commit_callbacks(execute=True):
        assert summaries_catch_up.apply().get() == 1
    summary = summary_of(page)
    assert summary is not None and summary.ai_request.status == AIRequest.Status.DONE
    assert summary.ai_request.budget_reservation.scopes[-2:] == [
        budgets.ledger.counter_key(budgets.redis_key("budget"), budgets.today(), "pool:system"),
        budgets.ledger.counter_key(budgets.redis_key("budget"), budgets.today(), "site"),
    ]
    assert pages_needing_summary(limit=10) == []
    assert summaries_catch_up.apply().get() == 0  # nothing left to do


def test_each_run_requests_at_most_its_batch(fake_embedder, section, publish, settings, catch_up):
    set_budgets(settings, system=0)
    pages = [publish(section, title=f"Page {n}", slug=f"page-{n}", items=ITEMS) for n in range(3)]
    set_budgets(settings, system=1_000_000, batch=2)
    assert catch_up().requested == 2
    assert catch_up().requested == 1
    assert catch_up().requested == 0
    assert all(summary_of(page).ai_request.status == AIRequest.Status.DONE for page in pages)


def test_the_run_stops_at_the_first_refusal(fake_embedder, section, publish, settings, catch_up):
    set_budgets(settings, system=0)
    for n in range(3):
        publish(section, title=f"Page {n}", slug=f"page-{n}", items=ITEMS)
    one = budgets.estimate_tokens(budgets_spec(), {}) + 10
    set_budgets(settings, system=one)  # room for one summary's estimate, not two
    outcome = catch_up()
    assert (outcome.requested, outcome.refused_for_budget) == (1, True)
    assert len(pages_needing_summary(limit=10)) == 2


def budgets_spec():
    from ai_core.prompts.registry import get_prompt

    return get_prompt("page_summary")


def test_summaries_made_stale_by_a_reindex_with_a_new_embedder_are_regenerated(
    fake_embedder, section, publish, settings, catch_up, django_capture_on_commit_callbacks
):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS)
    before = summary_of(page)
    assert before.ai_request.status == AIRequest.Status.DONE
    assert catch_up().requested == 0  # fresh: nothing to do

    settings.AI_CORE = {
        **settings.AI_CORE,
        "EMBEDDERS": {**settings.AI_CORE["EMBEDDERS"], "fake2": {"CLASS": "tests.rag.fakes.HashEmbedder"}},
        "DEFAULT_EMBEDDER": "fake2",
    }
    providers.reset_providers()
    with django_capture_on_commit_callbacks(execute=True):  # the publish hook runs, as in production
        call_command("reindex", "--all", stdout=StringIO())
    assert OutputProvenance.objects.get(request=before.ai_request).is_stale
    assert summary_of(page).pk == before.pk  # re-indexing alone regenerated nothing

    assert catch_up().requested == 1
    after = summary_of(page)
    assert after.pk != before.pk and after.revision_id == before.revision_id
    assert after.ai_request.status == AIRequest.Status.DONE
    assert OutputProvenance.objects.get(request=after.ai_request).stale_at is None
    assert OutputProvenance.objects.get(request=before.ai_request).regenerated_by_id == after.ai_request_id
    assert catch_up().requested == 0


def test_a_stale_summary_still_processing_is_left_alone(fake_embedder, section, publish):
    page = publish(section, title="Refunds", slug="refunds", items=ITEMS)
    summary = summary_of(page)
    AIRequest.objects.filter(pk=summary.ai_request_id).update(status=AIRequest.Status.PROCESSING)
    OutputProvenance.objects.filter(request_id=summary.ai_request_id).update(stale_at="2026-01-01T00:00Z")
    assert pages_needing_summary(limit=10) == []
