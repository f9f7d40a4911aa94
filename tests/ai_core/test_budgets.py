"""Budgets: reserve before spending, settle after, reset daily, downgrade past the soft limit."""

import datetime as dt
import json
from unittest import mock

import pytest
from django.contrib.auth import get_user_model

from ai_core.budgets import services as budgets
from ai_core.budgets.models import BudgetOverride, BudgetReservation
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.prompts.registry import get_prompt
from ai_core.tasks import process_ai_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(db):
    return get_user_model().objects.create_user("editor", "editor@example.com", "pw-editor-1")


def submit(client, prompt_key="content_classify", payload=None):
    body = {"prompt_key": prompt_key, "payload": payload or {"text": "Where is my invoice?"}}
    return client.post("/api/ai/requests/", json.dumps(body), content_type="application/json")


def test_estimate_covers_the_rendered_prompt_context_allowance_and_max_tokens():
    spec = get_prompt("rag_answer")
    estimate = budgets.estimate_tokens(spec, {"question": "q" * 400})
    assert estimate >= spec.max_tokens + 1500 + 100
    assert estimate < spec.max_tokens + 1500 + 600


def test_submit_reserves_the_estimate_and_settling_charges_what_was_used(client, editor):
    client.force_login(editor)
    scope = f"user:{editor.pk}"
    with mock.patch("ai_core.services.requests.transaction.on_commit"):
        response = submit(client)
    assert response.status_code == 202
    reservation = BudgetReservation.objects.get(request_id=response.json()["id"])
    assert budgets.budget_usage(scope=scope) == reservation.reserved_tokens
    assert budgets.budget_usage(scope="site") == reservation.reserved_tokens

    process_ai_request.apply(args=[response.json()["id"]])
    used = sum(
        log.input_tokens + log.output_tokens
        for log in LLMUsageLog.objects.filter(request_id=response.json()["id"])
    )
    reservation.refresh_from_db()
    assert reservation.actual_tokens == used
    assert 0 < used < reservation.reserved_tokens
    assert budgets.budget_usage(scope=scope) == used  # the unused part was refunded


def test_settling_twice_never_charges_twice(client, editor):
    client.force_login(editor)
    with mock.patch("ai_core.services.requests.transaction.on_commit"):
        request_id = submit(client).json()["id"]
    process_ai_request.apply(args=[request_id])
    after_first = budgets.budget_usage(scope=f"user:{editor.pk}")
    assert budgets.budget_settle(request_id=request_id) is None
    process_ai_request.apply(args=[request_id])  # a redelivered message
    assert budgets.budget_usage(scope=f"user:{editor.pk}") == after_first


def test_over_budget_is_429_with_retry_after_and_nothing_is_enqueued(
    client, editor, django_capture_on_commit_callbacks
):
    BudgetOverride.objects.create(user=editor, daily_tokens=50)
    client.force_login(editor)
    with django_capture_on_commit_callbacks() as callbacks:
        response = submit(client)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "budget_exceeded"
    assert "midnight UTC" in response.json()["error"]["message"]
    assert 0 < int(response["Retry-After"]) <= 86400
    assert not AIRequest.objects.exists()
    assert callbacks == []
    assert budgets.budget_usage(scope=f"user:{editor.pk}") == 0


def test_site_wide_cap_applies_to_everyone(client, editor, settings):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "BUDGETS": {**settings.AI_CORE["BUDGETS"], "SITE_DAILY_TOKENS": 10},
    }
    client.force_login(editor)
    response = submit(client)
    assert response.status_code == 429
    assert "site's remaining AI budget" in response.json()["error"]["message"]


def test_a_new_day_starts_with_a_fresh_budget_even_if_the_nightly_reset_never_ran(client, editor):
    estimate = budgets.estimate_tokens(get_prompt("content_classify"), {"text": "Where is my invoice?"})
    BudgetOverride.objects.create(user=editor, daily_tokens=int(estimate * 1.5))
    client.force_login(editor)
    yesterday, today = dt.date(2026, 11, 26), dt.date(2026, 11, 27)
    with mock.patch.object(budgets, "today", return_value=yesterday):
        assert submit(client).status_code == 202
        assert submit(client).status_code == 429
    with mock.patch.object(budgets, "today", return_value=today):
        assert submit(client).status_code == 202
        assert budgets.budget_reset_daily() >= 2  # yesterday's user + site counters are purged
        assert budgets.budget_usage(scope=f"user:{editor.pk}", day=yesterday) == 0
        assert budgets.budget_usage(scope=f"user:{editor.pk}") > 0


def test_past_the_soft_limit_requests_are_downgraded_to_the_cheaper_tier(client, editor):
    spec = get_prompt("content_classify")
    estimate = budgets.estimate_tokens(spec, {"text": "Where is my invoice?"})
    BudgetOverride.objects.create(user=editor, daily_tokens=int(estimate * 2.2))
    client.force_login(editor)
    with mock.patch("ai_core.services.requests.transaction.on_commit"):
        first, second = submit(client).json()["id"], submit(client).json()["id"]
    assert BudgetReservation.objects.get(request_id=first).downgraded is False  # 45% used
    assert BudgetReservation.objects.get(request_id=second).downgraded is True  # 91% used


def test_anonymous_visitors_are_rate_limited_per_session(client, settings):
    settings.AI_CORE = {**settings.AI_CORE, "ANON_RATE_LIMIT": {"REQUESTS": 3, "PER_SECONDS": 60}}
    codes = [
        client.post(
            "/api/ai/ask/", json.dumps({"question": "Refunds?"}), content_type="application/json"
        ).status_code
        for _ in range(5)
    ]
    assert codes == [202, 202, 202, 429, 429]
    response = client.post("/api/ai/ask/", json.dumps({"question": "x"}), content_type="application/json")
    assert response.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in response


# -- pools: anonymous visitors, signed-in users and system work each have their own --------------


def set_pools(settings, **pools: int) -> None:
    budget = settings.AI_CORE["BUDGETS"]
    settings.AI_CORE = {
        **settings.AI_CORE,
        "BUDGETS": {**budget, "POOL_DAILY_TOKENS": {**budget["POOL_DAILY_TOKENS"], **pools}},
    }


def ask(client, question="How long do I have to ask for a refund?"):
    return client.post("/api/ai/ask/", json.dumps({"question": question}), content_type="application/json")


def test_each_kind_of_asker_draws_on_its_own_pool(editor):
    from django.contrib.auth.models import AnonymousUser

    assert budgets.budget_pool_for(user=AnonymousUser()) == budgets.POOL_ANONYMOUS
    assert budgets.budget_pool_for(user=None) == budgets.POOL_ANONYMOUS
    assert budgets.budget_pool_for(user=editor) == budgets.POOL_USER
    assert budgets.budget_pool_for(user=editor, system=True) == budgets.POOL_SYSTEM
    names = lambda **kw: [scope.name for scope in budgets.scopes_for(**kw)]  # noqa: E731
    assert names(session_key="s1", client_ip="2001:db8::") == [
        "anon:s1",
        "anon-ip:2001:db8::",
        "pool:anonymous",
        "site",
    ]
    assert names(user=editor) == [f"user:{editor.pk}", "pool:user", "site"]
    # System work is nobody's: whatever identity is passed along, it is not charged to a person.
    assert names(pool="system", user=editor, session_key="s1") == ["pool:system", "site"]
    with pytest.raises(ValueError, match="unknown budget pool"):
        budgets.scopes_for(pool="vip")


def test_an_empty_anonymous_pool_refuses_visitors_but_not_users_or_system_work(client, editor, settings):
    from ai_core.services.requests import ai_request_submit_system

    set_pools(settings, anonymous=10)
    refused = ask(client)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert "visitors who are not signed in" in refused.json()["error"]["message"]
    assert "Sign in" in refused.json()["error"]["message"]
    assert 0 < int(refused["Retry-After"]) <= 86400

    client.force_login(editor)
    with mock.patch("ai_core.services.requests.transaction.on_commit"):
        assert submit(client).status_code == 202
        system = ai_request_submit_system(prompt_key="page_summary", payload={})
    assert budgets.budget_usage(scope="pool:anonymous") == 0
    assert budgets.budget_usage(scope="pool:user") > 0
    assert budgets.budget_usage(scope="pool:system") == system.budget_reservation.reserved_tokens


def test_an_empty_system_pool_refuses_system_work_only(client, editor, settings):
    from ai_core.services.requests import ai_request_submit_system

    set_pools(settings, system=10)
    with pytest.raises(budgets.BudgetExceeded) as refused:
        ai_request_submit_system(prompt_key="page_summary", payload={})
    assert refused.value.scope == "pool:system"
    assert not AIRequest.objects.exists()
    with mock.patch("ai_core.services.requests.transaction.on_commit"):
        assert ask(client).status_code == 202
        client.force_login(editor)
        assert submit(client).status_code == 202


def test_an_empty_user_pool_says_so(client, editor, settings):
    set_pools(settings, user=10)
    client.force_login(editor)
    response = submit(client)
    assert response.status_code == 429
    assert "signed-in users is used up" in response.json()["error"]["message"]


def test_golden_runs_are_charged_to_the_system_pool(settings):
    from ai_core.prompts.registry import yaml_prompts
    from ai_core.providers import generation_provider
    from ai_core.services.prompt_evals import golden_case_run

    spec = yaml_prompts()["content_classify"]
    outcome = golden_case_run(spec=spec, case=spec.golden[0], provider=generation_provider("local"))
    assert outcome.status == "pass"
    used = LLMUsageLog.objects.get(subject_type="golden_case")
    assert budgets.budget_usage(scope="pool:system") == used.input_tokens + used.output_tokens
    set_pools(settings, system=1)
    outcome = golden_case_run(spec=spec, case=spec.golden[0], provider=generation_provider("local"))
    assert outcome.status == "error" and "budget_exceeded" in outcome.detail


def test_pool_settings_are_checked(settings):
    from ai_core.budgets.checks import check_budget_pools

    assert check_budget_pools() == []
    set_pools(settings, anonymous=-1)
    assert [m.id for m in check_budget_pools()] == ["budgets.E003"]
    set_pools(settings, anonymous=True)
    assert [m.id for m in check_budget_pools()] == ["budgets.E003"]
    budget = settings.AI_CORE["BUDGETS"]
    settings.AI_CORE = {**settings.AI_CORE, "BUDGETS": {**budget, "POOL_DAILY_TOKENS": {"anonymous": 5}}}
    (message,) = check_budget_pools()
    assert message.id == "budgets.E003" and "system" in message.msg
    settings.AI_CORE = {
        **settings.AI_CORE,
        "BUDGETS": {
            **budget,
            "SITE_DAILY_TOKENS": 100,
            "POOL_DAILY_TOKENS": {"anonymous": 60, "user": 60, "system": 0},
        },
    }
    assert [m.id for m in check_budget_pools()] == ["budgets.W001"]


def test_the_summary_catch_up_batch_is_checked(settings):
    from ai_core.budgets.checks import check_summary_catch_up

    assert check_summary_catch_up() == []
    settings.AI_CORE = {**settings.AI_CORE, "SUMMARY_CATCH_UP": {"BATCH": -5}}
    assert [m.id for m in check_summary_catch_up()] == ["budgets.E004"]


def test_a_settlement_whose_transaction_rolls_back_is_charged_once_when_settled_again(client, editor):
    # A worker that dies after the counters were adjusted, before its transaction commits, leaves
    # the reservation open; the recovery sweep settles it again and must not refund twice.
    from django.db import transaction

    client.force_login(editor)
    scope = f"user:{editor.pk}"
    with mock.patch("ai_core.services.requests.transaction.on_commit"):
        request_id = submit(client).json()["id"]
    assert budgets.budget_usage(scope=scope) > 0
    AIRequest.objects.filter(pk=request_id).update(status=AIRequest.Status.FAILED)  # spent nothing
    with pytest.raises(RuntimeError), transaction.atomic():
        budgets.budget_settle(request_id=request_id)
        raise RuntimeError("worker killed before commit")
    assert BudgetReservation.objects.get(request_id=request_id).settled_at is None
    budgets.budget_settle(request_id=request_id)
    assert BudgetReservation.objects.get(request_id=request_id).settled_at is not None
    assert budgets.budget_usage(scope=scope) == 0  # refunded once, not twice
