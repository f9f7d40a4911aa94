"""Approved answers in process: what is kept on approval, when a later question is answered from
one, and everything that stops that (a changed or private source, another site or page, retired,
superseded). The worker's processing runs inline; the fake bag-of-words embedder stands in for
MiniLM (paraphrase similarity itself is measured on MiniLM by bench/answer_reuse_threshold.py and
exercised against the running stack in test_reuse_live.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from wagtail.models import PageViewRestriction, Site

from ai_core.answers.api import (
    approved_answer_create,
    approved_answer_reapprove,
    approved_answer_retire,
    approved_answers_retire_citing,
)
from ai_core.answers.embedding import approved_answer_embed
from ai_core.answers.reuse import approved_answer_match
from ai_core.models import AIRequest, ApprovedAnswer, LLMUsageLog
from ai_core.prompts.registry import get_prompt
from ai_core.selectors.visibility import STOPPED, ai_request_visible_output
from ai_core.services.processing import ai_request_process
from tests.content.factories import HomePageFactory

from .conftest import APPROVED, QUESTION, REFUND, ask, chunk_of

pytestmark = pytest.mark.django_db


def spec():
    return get_prompt("rag_answer")


def approve(request: AIRequest, reviewer, *, text: str | None = None) -> ApprovedAnswer:
    answer = approved_answer_create(request=request, text=text or request.result, approved_by=reviewer)
    assert answer is not None
    approved_answer_embed(answer_id=answer.pk)  # the task's work, inline
    answer.refresh_from_db()
    return answer


def test_approval_keeps_the_question_scope_text_and_cited_chunk_with_its_hash(
    answered, reviewer, refund_page
):
    request = answered()
    answer = approve(request, reviewer)
    chunk = chunk_of(refund_page, "30 days")
    assert (answer.question, answer.text, answer.status) == (QUESTION, APPROVED, "active")
    assert (answer.site_id, answer.locale, answer.page_id) == (request.site_id, "en", None)
    assert (answer.prompt_key, answer.prompt_version) == ("rag_answer", spec().version)
    (source,) = answer.sources
    assert (source["chunk_id"], source["content_hash"], source["page_id"]) == (
        chunk.pk,
        chunk.content_hash,
        refund_page.pk,
    )
    assert REFUND in source["text"]
    assert answer.cited_page_ids == [refund_page.pk]
    assert answer.embedding is not None and answer.embedder_id


def test_only_the_sources_the_approved_text_cites_are_locked(answered, reviewer, refund_page):
    sale = chunk_of(refund_page, "seasonal sale")
    request = answered()
    request.citations = [
        *request.citations,
        {"number": 2, "chunk_id": str(sale.pk), "title": "Sale", "url": ""},
    ]
    request.save()
    answer = approve(request, reviewer)
    assert [s["number"] for s in answer.sources] == [1]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"prompt_key": "page_summary"}, "another kind of prompt"),
        ({"error_code": STOPPED}, "a partial answer the visitor stopped"),
        ({"citations": []}, "rests on no source"),
        ({"payload": {}}, "no question"),
    ],
)
def test_outputs_that_cannot_answer_later_questions_are_not_kept(answered, reviewer, change, why):
    request = answered(**{k: v for k, v in change.items() if k != "payload"})
    if "payload" in change:
        request.payload = change["payload"]
        request.save()
    assert approved_answer_create(request=request, text=request.result, approved_by=reviewer) is None, why


def test_a_later_question_in_the_same_scope_is_answered_with_the_approved_text_at_zero_cost(
    answered, reviewer, refund_page
):
    answer = approve(answered(), reviewer)
    later = ask("How long do refunds take?", like=answer.source_request)
    outcome = ai_request_process(request_id=str(later.pk))
    later.refresh_from_db()
    assert outcome.status == later.status == AIRequest.Status.DONE
    assert later.result == APPROVED and later.approved_answer_id == answer.pk
    chunk = chunk_of(refund_page, "30 days")
    assert later.citations == [
        {"number": 1, "chunk_id": str(chunk.pk), "title": "Refunds > Refunds", "url": chunk.anchor_url}
    ]
    # No provider call: the one usage row is the reuse, at zero tokens and zero cost.
    (log,) = LLMUsageLog.objects.filter(request=later)
    assert (log.outcome, log.input_tokens, log.output_tokens, log.cost_usd) == (
        "approved_answer",
        0,
        0,
        Decimal("0"),
    )
    answer.refresh_from_db()
    assert answer.hits == 1 and answer.last_used_at is not None
    shown = ai_request_visible_output(request=later)
    assert shown.text == APPROVED and shown.reviewed_label.startswith("Reviewed on ")
    assert shown.event()["reviewed_label"] == shown.reviewed_label


def test_a_different_question_is_generated_as_usual(answered, reviewer):
    answer = approve(answered(), reviewer)
    later = ask("Can sale items be exchanged for another size?", like=answer.source_request)
    assert approved_answer_match(request=later, spec=spec()) is None
    ai_request_process(request_id=str(later.pk))
    later.refresh_from_db()
    assert later.approved_answer_id is None
    assert LLMUsageLog.objects.filter(request=later, outcome="approved_answer").count() == 0


def test_a_question_not_answered_from_an_approval_is_embedded_once_for_lookup_and_retrieval(
    answered, reviewer, fake_embedder
):
    from tests.rag.fakes import HashEmbedder

    answer = approve(answered(), reviewer)
    question = "Can sale items be exchanged for another size?"
    later = ask(question, like=answer.source_request)
    before = len(HashEmbedder.calls)
    ai_request_process(request_id=str(later.pk))
    later.refresh_from_db()
    assert later.approved_answer_id is None and later.status == AIRequest.Status.DONE
    # The approved-answer lookup and the retrieval both compared this question's vector: one call.
    assert [texts for texts in HashEmbedder.calls[before:] if question in texts] == [[question]]


def test_an_edited_cited_paragraph_stops_reuse(answered, reviewer, refund_page, edit_paragraph):
    answer = approve(answered(), reviewer)
    later = ask(QUESTION, like=answer.source_request)
    assert approved_answer_match(request=later, spec=spec()) is not None
    edit_paragraph(refund_page, old="30 days", new=REFUND.replace("30 days", "14 days"))
    assert approved_answer_match(request=later, spec=spec()) is None


def test_an_edit_elsewhere_on_the_page_keeps_reuse(answered, reviewer, refund_page, edit_paragraph):
    answer = approve(answered(), reviewer)
    edit_paragraph(refund_page, old="seasonal sale", new="Gift cards never expire and cannot be refunded.")
    assert approved_answer_match(request=ask(QUESTION, like=answer.source_request), spec=spec()) is not None


def test_a_page_made_private_stops_reuse_even_before_it_is_unindexed(answered, reviewer, refund_page):
    answer = approve(answered(), reviewer)
    # The restriction alone (the chunks are still in the index): the query-time check refuses it.
    PageViewRestriction.objects.create(page=refund_page, restriction_type=PageViewRestriction.LOGIN)
    assert approved_answer_match(request=ask(QUESTION, like=answer.source_request), spec=spec()) is None


def test_an_unpublished_page_stops_reuse(answered, reviewer, refund_page):
    answer = approve(answered(), reviewer)
    type(refund_page).objects.filter(pk=refund_page.pk).update(live=False)
    assert approved_answer_match(request=ask(QUESTION, like=answer.source_request), spec=spec()) is None


def test_another_site_locale_or_page_is_never_served(answered, reviewer, refund_page, home):
    answer = approve(answered(), reviewer)
    other = Site.objects.create(
        hostname="marina.test", port=80, root_page=HomePageFactory(parent=home.get_parent(), slug="marina")
    )
    request = answer.source_request
    assert approved_answer_match(request=ask(QUESTION, like=request, site_id=other.pk), spec=spec()) is None
    assert approved_answer_match(request=ask(QUESTION, like=request, site_id=None), spec=spec()) is None
    assert approved_answer_match(request=ask(QUESTION, like=request, locale="fr"), spec=spec()) is None
    assert (
        approved_answer_match(request=ask(QUESTION, like=request, page_id=refund_page.pk), spec=spec())
        is None
    )


def test_an_answer_approved_on_a_page_serves_that_page_only(answered, reviewer, refund_page):
    answer = approve(answered(page=refund_page), reviewer)
    request = answer.source_request
    assert approved_answer_match(request=ask(QUESTION, like=request), spec=spec()) is not None
    assert approved_answer_match(request=ask(QUESTION, like=request, page_id=None), spec=spec()) is None


def test_a_retired_answer_is_never_served(answered, reviewer):
    answer = approve(answered(), reviewer)
    approved_answer_retire(answer=answer, user=reviewer)
    answer.refresh_from_db()
    assert (answer.status, answer.retired_reason, answer.retired_by) == ("retired", "reviewer", reviewer)
    later = ask(QUESTION, like=answer.source_request)
    ai_request_process(request_id=str(later.pk))
    later.refresh_from_db()
    assert later.approved_answer_id is None and later.result != APPROVED


def test_a_newer_approval_of_the_same_question_supersedes_the_older(answered, reviewer):
    first = approve(answered(), reviewer)
    second = approve(answered(question="how long do  refunds take?", text="Within 30 days [1]."), reviewer)
    first.refresh_from_db()
    assert (first.status, second.supersedes_id) == ("superseded", first.pk)
    reuse = approved_answer_match(request=ask(QUESTION, like=second.source_request), spec=spec())
    assert reuse.answer_id == second.pk and reuse.text == "Within 30 days [1]."


def test_retire_citing_a_chunk_and_reapprove_locks_to_the_new_text(
    answered, reviewer, refund_page, edit_paragraph
):
    answer = approve(answered(), reviewer)
    old_chunk = chunk_of(refund_page, "30 days")
    assert approved_answers_retire_citing(chunk_ids=[old_chunk.pk], reason="source_changed") == [answer.pk]
    edit_paragraph(refund_page, old="30 days", new=REFUND.replace("30 days", "14 days"))
    answer.refresh_from_db()
    fresh = approved_answer_reapprove(answer=answer, text="Refunds take 14 days [1].", approved_by=reviewer)
    new_chunk = chunk_of(refund_page, "14 days")
    assert (fresh.supersedes_id, fresh.sources[0]["chunk_id"], fresh.edited) == (
        answer.pk,
        new_chunk.pk,
        True,
    )
    answer.refresh_from_db()
    assert answer.status == "retired"  # keeps why it left service
    reuse = approved_answer_match(request=ask(QUESTION, like=answer.source_request), spec=spec())
    assert reuse.answer_id == fresh.pk


def test_the_dashboard_counts_reused_answers_and_the_cost_they_avoided(answered, reviewer, client):
    from django.contrib.auth.models import Group, Permission
    from django.utils import timezone

    source = answered()
    LLMUsageLog.objects.create(
        request=source, provider="anthropic", model="claude-sonnet-4-6", cost_usd="0.012"
    )
    answer = approve(source, reviewer)
    assert answer.generation_cost_usd == Decimal("0.012")
    for _ in range(3):
        ai_request_process(request_id=str(ask("How long do refunds take?", like=source).pk))
    group, _ = Group.objects.get_or_create(name="AI dashboard viewers")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        Permission.objects.get(content_type__app_label="ai_core", codename="view_ai_dashboard"),
    )
    reviewer.groups.add(group)
    client.force_login(reviewer)
    today = timezone.localdate().isoformat()
    html = client.get("/admin/ai/dashboard/", {"start": today, "end": today}).content.decode()
    assert 'data-kpi="approved-reuse">3<' in html
    assert "$0.036" in html and "1 approved answers in service" in html


def test_approving_embeds_nothing_in_the_reviewers_http_request(answered, reviewer, fake_embedder):
    from ai_core.guard import mark_http_request, unmark_http_request
    from tests.rag.fakes import HashEmbedder

    request = answered()
    before = len(HashEmbedder.calls)
    token = mark_http_request("/admin/review/reviewitem/approve/1/")
    try:
        answer = approved_answer_create(request=request, text=request.result, approved_by=reviewer)
    finally:
        unmark_http_request(token)
    assert len(HashEmbedder.calls) == before and answer.embedding is None  # the worker's task embeds it
    # Until then it is not served, and the worker's lookup embeds it itself if the task has not run.
    reuse = approved_answer_match(request=ask(QUESTION, like=request), spec=spec())
    assert reuse is not None and ApprovedAnswer.objects.get(pk=answer.pk).embedding is not None


@pytest.mark.parametrize(
    "lookup",
    [
        "match_then_retired",  # retired between the lookup and the reply
        "broken_lookup",  # a failing lookup costs the visitor nothing
    ],
)
def test_a_lookup_that_loses_its_answer_or_breaks_leaves_the_question_generated(
    answered, reviewer, settings, lookup
):
    answer = approve(answered(), reviewer)
    settings.AI_CORE = {**settings.AI_CORE, "ANSWER_REUSE": f"tests.answers.racing.{lookup}"}
    later = ask(QUESTION, like=answer.source_request)
    outcome = ai_request_process(request_id=str(later.pk))
    later.refresh_from_db()
    assert outcome.status == later.status == AIRequest.Status.DONE
    assert later.approved_answer_id is None and later.result != APPROVED and REFUND in later.result
    assert not LLMUsageLog.objects.filter(request=later, outcome="approved_answer").exists()
    answer.refresh_from_db()
    assert answer.hits == 0


def test_the_soft_time_limit_during_the_lookup_ends_the_task_before_any_provider_call(
    answered, reviewer, settings
):
    from celery.exceptions import SoftTimeLimitExceeded

    answer = approve(answered(), reviewer)
    settings.AI_CORE = {
        **settings.AI_CORE,
        "ANSWER_REUSE": "tests.answers.racing.lookup_cut_by_the_soft_time_limit",
    }
    later = ask(QUESTION, like=answer.source_request)
    # Swallowed as a failed lookup, the task went on to call a provider until the hard limit
    # killed the worker process; raised, the task ends the request as failed ("took too long").
    with pytest.raises(SoftTimeLimitExceeded):
        ai_request_process(request_id=str(later.pk))
    assert not LLMUsageLog.objects.filter(request=later).exists()


def test_an_unpublished_source_retires_the_answer_and_republishing_does_not_bring_it_back(
    answered, reviewer, refund_page, django_capture_on_commit_callbacks
):
    answer = approve(answered(), reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        refund_page.unpublish()
    answer.refresh_from_db()
    assert (answer.status, answer.retired_reason) == ("retired", ApprovedAnswer.RetireReason.SOURCE_REMOVED)
    # The same text indexed again (new chunk rows): only a reviewer's new approval serves it.
    with django_capture_on_commit_callbacks(execute=True):
        type(refund_page).objects.get(pk=refund_page.pk).get_latest_revision().publish()
    assert chunk_of(refund_page, "30 days")
    assert approved_answer_match(request=ask(QUESTION, like=answer.source_request), spec=spec()) is None


def test_a_failure_retiring_answers_never_stops_a_source_leaving_the_index(
    answered, reviewer, refund_page, django_capture_on_commit_callbacks, monkeypatch
):
    from ai_core.answers import services
    from ai_core.rag.models import KnowledgeChunk

    approve(answered(), reviewer)

    def broken(**kwargs):
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(services, "approved_answers_retire_citing", broken)
    with django_capture_on_commit_callbacks(execute=True):
        PageViewRestriction.objects.create(page=refund_page, restriction_type=PageViewRestriction.LOGIN)
    assert not KnowledgeChunk.objects.filter(page_id=refund_page.pk).exists()
