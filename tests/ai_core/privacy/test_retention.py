"""Retention: visitor requests older than RETENTION_DAYS are anonymised or deleted by the beat task,
except those still under review, behind an active approved answer, or the site's own."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from ai_core.models import AIFeedback, AIRequest, ApprovedAnswer, LLMUsageLog
from ai_core.privacy.conf import privacy_settings
from ai_core.privacy.services import ai_requests_purge_expired
from ai_core.selectors.visibility import SYSTEM_SESSION_KEY
from ai_core.tasks import purge_expired_requests
from site_config.celery_routes import task_queue

pytestmark = pytest.mark.django_db

QUESTION = {"question": "Can I get my money back?"}


def retention(settings, **values):
    settings.AI_CORE = {**settings.AI_CORE, "PRIVACY": {**settings.AI_CORE["PRIVACY"], **values}}


def make_request(*, days_old: int, status=AIRequest.Status.DONE, **fields) -> AIRequest:
    defaults = {
        "prompt_key": "rag_answer",
        "prompt_version": 1,
        "payload": QUESTION,
        "result": "Yes, within 30 days [1].",
        "session_key": "visitor-session",
        "client_ip": "203.0.113.7",
        "status": status,
    }
    request = AIRequest.objects.create(**{**defaults, **fields})
    AIRequest.objects.filter(pk=request.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    return AIRequest.objects.get(pk=request.pk)


def approved_answer(request: AIRequest, *, status=ApprovedAnswer.Status.ACTIVE) -> ApprovedAnswer:
    return ApprovedAnswer.objects.create(
        status=status,
        question=request.payload["question"],
        prompt_key=request.prompt_key,
        prompt_version=request.prompt_version,
        text=request.result,
        source_request=request,
        approved_at=timezone.now(),
    )


def is_anonymised(request: AIRequest) -> bool:
    request.refresh_from_db()
    return (request.payload, request.result, request.user_id, request.session_key, request.client_ip) == (
        {},
        "",
        None,
        "",
        None,
    )


def test_retention_is_off_by_default_and_keeps_everything(settings):
    assert privacy_settings().retention_days is None
    ancient = make_request(days_old=3650)
    assert ai_requests_purge_expired().action == "off"
    assert purge_expired_requests.apply().get() == 0
    ancient.refresh_from_db()
    assert ancient.payload == QUESTION and ancient.result


def test_old_visitor_requests_are_anonymised_and_recent_ones_kept(settings):
    retention(settings, RETENTION_DAYS=30)
    user = get_user_model().objects.create_user("vera", "vera@example.com", "pw-vera-12345")
    old = make_request(days_old=31, user=user, session_key="")
    failed = make_request(days_old=40, status=AIRequest.Status.FAILED)
    recent = make_request(days_old=29)
    AIFeedback.objects.create(
        request=old,
        user=user,
        vote="down",
        comment="I am Vera, call me",
        prompt_key="rag_answer",
        prompt_version=1,
    )
    usage = LLMUsageLog.objects.create(request=old, provider="anthropic", model="m", operation="generate")

    assert purge_expired_requests.apply().get() == 2
    assert is_anonymised(old) and is_anonymised(failed) and not is_anonymised(recent)
    old.refresh_from_db()
    assert (old.prompt_key, old.status) == ("rag_answer", "done")  # volumes and costs still report
    assert LLMUsageLog.objects.get(pk=usage.pk).request_id == old.pk
    feedback = AIFeedback.objects.get(request=old)
    assert (feedback.comment, feedback.user_id, feedback.vote) == ("", None, "down")
    assert purge_expired_requests.apply().get() == 0  # nothing twice


def test_under_review_in_flight_summaries_and_active_approved_answers_are_kept(settings):
    retention(settings, RETENTION_DAYS=30)
    held = make_request(days_old=90, status=AIRequest.Status.AWAITING_REVIEW)
    running = make_request(days_old=90, status=AIRequest.Status.PROCESSING)
    summary = make_request(days_old=90, session_key=SYSTEM_SESSION_KEY, prompt_key="page_summary")
    serving = make_request(days_old=90)
    approved_answer(serving)
    retired = make_request(days_old=90)
    approved_answer(retired, status=ApprovedAnswer.Status.RETIRED)

    assert ai_requests_purge_expired().purged == 1
    assert is_anonymised(retired)
    for kept in (held, running, summary, serving):
        assert not is_anonymised(kept), kept.status


def test_delete_mode_removes_the_rows_and_keeps_the_usage_history(settings):
    retention(settings, RETENTION_DAYS=30, RETENTION_ACTION="delete")
    old, recent = make_request(days_old=31), make_request(days_old=1)
    serving = make_request(days_old=31)
    answer = approved_answer(serving)
    usage = LLMUsageLog.objects.create(request=old, provider="anthropic", model="m", operation="generate")
    assert ai_requests_purge_expired().purged == 1
    assert set(AIRequest.objects.values_list("pk", flat=True)) == {recent.pk, serving.pk}
    assert LLMUsageLog.objects.get(pk=usage.pk).request_id is None
    assert ApprovedAnswer.objects.get(pk=answer.pk).source_request_id == serving.pk


def test_a_large_backlog_is_done_in_batches_in_one_run(settings):
    retention(settings, RETENTION_DAYS=7, BATCH_SIZE=2)
    rows = [make_request(days_old=8 + n) for n in range(5)]
    assert ai_requests_purge_expired().purged == 5
    assert all(is_anonymised(row) for row in rows)


@pytest.mark.parametrize(
    ("values", "mentions"),
    [
        ({"RETENTION_DAYS": 0}, "RETENTION_DAYS"),
        ({"RETENTION_DAYS": "30"}, "RETENTION_DAYS"),
        ({"RETENTION_ACTION": "shred"}, "RETENTION_ACTION"),
        ({"RETENTION_KEEP": "review.retention.no_such_selector"}, "RETENTION_KEEP"),
        ({"MASK_CONTACT_DETAILS": "rag_answer"}, "MASK_CONTACT_DETAILS"),
        ({"RETENTION_DAY": 30}, "unknown keys"),
    ],
)
def test_bad_privacy_settings_fail_the_system_check(settings, values, mentions):
    retention(settings, **values)
    with pytest.raises(SystemCheckError, match=mentions):
        call_command("check")


def test_the_purge_runs_hourly_on_the_maintenance_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["ai-requests-purge-expired"]
    assert entry["task"] == purge_expired_requests.name == "ai_core.purge_expired_requests"
    assert task_queue(purge_expired_requests.name, base="q") == "q.maintenance"


def test_an_approved_answer_out_of_use_for_the_retention_period_loses_the_visitors_question(settings):
    retention(settings, RETENTION_DAYS=30)
    vector = [0.1] * 384

    def out_of_use(days: int, **fields) -> ApprovedAnswer:
        answer = approved_answer(make_request(days_old=days + 10), status=ApprovedAnswer.Status.RETIRED)
        ApprovedAnswer.objects.filter(pk=answer.pk).update(
            retired_at=timezone.now() - timedelta(days=days), embedding=vector, **fields
        )
        return answer

    long_retired = out_of_use(40)
    superseded = out_of_use(31, status=ApprovedAnswer.Status.SUPERSEDED)
    orphaned = out_of_use(45, source_request=None)  # its request was deleted earlier
    recently_retired = out_of_use(5)
    awaiting_rereview = out_of_use(60)
    AIRequest.objects.create(
        prompt_key="rag_answer",
        prompt_version=1,
        payload={"question": QUESTION["question"], "rereview_of": awaiting_rereview.pk},
        session_key=SYSTEM_SESSION_KEY,
        status=AIRequest.Status.AWAITING_REVIEW,
    )
    serving = approved_answer(make_request(days_old=400))

    ai_requests_purge_expired()

    def holds_question(answer: ApprovedAnswer) -> bool:
        answer.refresh_from_db()
        return bool(answer.question) or answer.embedding is not None

    for forgotten in (long_retired, superseded, orphaned):
        assert not holds_question(forgotten), forgotten.status
        assert forgotten.text  # the reviewer's approved text is not the visitor's
    for kept in (recently_retired, awaiting_rereview, serving):
        assert holds_question(kept)
        assert kept.question == QUESTION["question"]


def test_a_decided_rereview_of_an_approved_answer_goes_like_a_visitor_request(settings):
    retention(settings, RETENTION_DAYS=30)
    answer = approved_answer(make_request(days_old=90), status=ApprovedAnswer.Status.RETIRED)
    payload = {"question": QUESTION["question"], ApprovedAnswer.REREVIEW_PAYLOAD_KEY: answer.pk}
    decided = make_request(days_old=40, session_key=SYSTEM_SESSION_KEY, payload=payload)
    summary = make_request(days_old=40, session_key=SYSTEM_SESSION_KEY, prompt_key="page_summary")
    ai_requests_purge_expired()
    assert is_anonymised(decided)
    assert not is_anonymised(summary)
