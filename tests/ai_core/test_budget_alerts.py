"""Budget alerts: a prompt key or user past its daily cost threshold raises one alert and one mail."""

import datetime as dt
import json
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection

from ai_core.budgets import alerts
from ai_core.budgets.checks import check_alert_settings
from ai_core.budgets.models import BudgetAlert
from ai_core.budgets.tasks import check_budget_alerts, send_budget_alert_email
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.tasks import process_ai_request

THRESHOLDS = {
    "DAILY_COST_USD": {"PER_PROMPT_KEY": {"default": "1.00", "rag_answer": "3.00"}, "PER_USER": "2.00"},
    "RECIPIENTS": ["ops@example.com"],
}


@pytest.fixture
def alert_settings(settings):
    settings.AI_CORE = {**settings.AI_CORE, "ALERTS": THRESHOLDS}
    return settings


@pytest.fixture
def editor(db):
    return get_user_model().objects.create_user("editor", "editor@example.com", "pw-editor-1")


def spend(cost: str, *, prompt_key: str = "content_classify", user=None, when: dt.datetime | None = None):
    """One provider call costing ``cost`` USD, made for a request by ``user`` (None: anonymous)."""
    request = AIRequest.objects.create(user=user, prompt_key=prompt_key, prompt_version=1)
    log = LLMUsageLog.objects.create(
        request=request,
        prompt_key=prompt_key,
        prompt_version=1,
        provider="anthropic",
        model="claude-haiku-4-5",
        input_tokens=1000,
        output_tokens=200,
        cost_usd=Decimal(cost),
    )
    if when is not None:
        LLMUsageLog.objects.filter(pk=log.pk).update(created_at=when)
    return log


@pytest.mark.django_db
def test_a_prompt_key_past_its_threshold_alerts_and_mails_once_however_often_the_check_runs(
    alert_settings, mailoutbox, django_capture_on_commit_callbacks
):
    spend("0.70")
    spend("0.45")  # content_classify: 1.15 > 1.00 (the default)
    spend("2.90", prompt_key="rag_answer")  # under its own 3.00, though over the default
    with django_capture_on_commit_callbacks(execute=True):
        assert check_budget_alerts.apply().get() == 1  # the beat task
    with django_capture_on_commit_callbacks(execute=True):
        assert check_budget_alerts.apply().get() == 0
        assert alerts.budget_alerts_check() == []

    (alert,) = BudgetAlert.objects.all()
    assert (alert.kind, alert.scope_value, alert.day) == ("prompt_key", "content_classify", alerts.today())
    assert (alert.cost_usd, alert.threshold_usd) == (Decimal("1.15"), Decimal("1.00"))
    assert alert.emailed_at is not None and alert.acknowledged_at is None
    (mail,) = mailoutbox
    assert mail.to == ["ops@example.com"]
    assert "content_classify" in mail.subject and "$1.15" in mail.subject and "$1.00" in mail.subject
    assert "$1.1500" in mail.body and "$1.00" in mail.body
    assert "http://127.0.0.1:8000/admin/ai/budget-alerts/" in mail.body


@pytest.mark.django_db
def test_spending_up_to_the_threshold_raises_nothing(
    alert_settings, mailoutbox, django_capture_on_commit_callbacks
):
    spend("1.00")  # exactly the threshold: not past it
    spend("3.00", prompt_key="rag_answer")
    yesterday = dt.datetime.combine(alerts.today(), dt.time(), tzinfo=dt.UTC) - dt.timedelta(minutes=1)
    spend("50.00", prompt_key="page_summary", when=yesterday)  # yesterday's spending is not today's
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.budget_alerts_check() == []
    assert not BudgetAlert.objects.exists()
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_user_past_the_per_user_threshold_alerts_across_prompt_keys(
    alert_settings, editor, mailoutbox, django_capture_on_commit_callbacks
):
    spend("0.80", user=editor)
    spend("0.90", prompt_key="page_summary", user=editor)
    spend("0.40", prompt_key="rag_answer", user=editor)  # 2.10 in all; every prompt key under its own
    spend("5.00", prompt_key="rag_answer")  # anonymous visitors are not a user scope
    with django_capture_on_commit_callbacks(execute=True):
        raised = alerts.budget_alerts_check()

    assert [(a.kind, a.scope_value) for a in raised] == [
        ("prompt_key", "rag_answer"),
        ("user", str(editor.pk)),
    ]
    user_alert = BudgetAlert.objects.get(kind="user")
    assert user_alert.user == editor and user_alert.cost_usd == Decimal("2.10")
    assert user_alert.threshold_usd == Decimal("2.00")
    user_mail = next(m for m in mailoutbox if "user editor" in m.subject)
    assert "$2.10" in user_mail.subject
    assert len(mailoutbox) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_raise_one_alert_and_send_one_mail(alert_settings, editor, mailoutbox):
    spend("1.50")
    spend("2.50", prompt_key="page_summary", user=editor)
    checks = 4
    barrier = threading.Barrier(checks)
    real_crossings = alerts._crossings
    errors = []

    def crossings_then_wait(**kwargs):
        found = real_crossings(**kwargs)
        barrier.wait(timeout=20)  # every check has read the costs before any inserts an alert
        return found

    def run():
        try:
            alerts.budget_alerts_check()
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)
        finally:
            connection.close()

    with mock.patch.object(alerts, "_crossings", crossings_then_wait):
        threads = [threading.Thread(target=run) for _ in range(checks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert sorted(BudgetAlert.objects.values_list("kind", "scope_value")) == [
        ("prompt_key", "content_classify"),
        ("prompt_key", "page_summary"),
        ("user", str(editor.pk)),
    ]
    assert len(mailoutbox) == 3  # one per alert, not one per check


@pytest.mark.django_db
def test_settling_a_request_alerts_at_once_without_waiting_for_beat(
    alert_settings, client, editor, mailoutbox, django_capture_on_commit_callbacks
):
    # Make the offline model expensive: about 100 input tokens at $0.05 each.
    prices = {**alert_settings.AI_CORE["PRICES"], "extractive-minilm": {
        "input": "50000", "output": "0", "cache_read": "0", "cache_write": "0"}}  # fmt: skip
    alert_settings.AI_CORE = {**alert_settings.AI_CORE, "PRICES": prices}
    client.force_login(editor)
    body = {"prompt_key": "content_classify", "payload": {"text": "Where is my invoice? " * 10}}
    with mock.patch("ai_core.services.requests.transaction.on_commit"):
        request_id = client.post(
            "/api/ai/requests/", json.dumps(body), content_type="application/json"
        ).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        process_ai_request.apply(args=[request_id])

    cost = LLMUsageLog.objects.get(request_id=request_id).cost_usd
    assert cost > Decimal("2.00")
    assert set(BudgetAlert.objects.values_list("kind", "scope_value")) == {
        ("prompt_key", "content_classify"),
        ("user", str(editor.pk)),
    }
    assert len(mailoutbox) == 2


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server down")


@pytest.mark.django_db
def test_a_failed_mail_is_retried_rather_than_lost(alert_settings, mailoutbox):
    spend("1.50")
    (alert,) = alerts.budget_alerts_check()
    alert_settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
    with pytest.raises(ConnectionRefusedError):
        alerts.budget_alert_email_send(alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.emailed_at is None  # the claim is released for the task's retry

    alert_settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_budget_alert_email.apply(args=[alert.pk]).get() is True
    assert send_budget_alert_email.apply(args=[alert.pk]).get() is False  # a redelivery sends nothing
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_without_recipients_the_mail_goes_to_budget_managers_or_the_named_group(
    alert_settings, editor, mailoutbox, django_user_model
):
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-12")
    manager = django_user_model.objects.create_user("mia", "mia@example.com", "pw-mia-123")
    managers = Group.objects.create(name="Budget managers")
    managers.permissions.add(Permission.objects.get(codename="change_budgetalert"))
    manager.groups.add(managers)
    alert_settings.AI_CORE = {**alert_settings.AI_CORE, "ALERTS": {**THRESHOLDS, "RECIPIENTS": []}}
    spend("1.50")
    (alert,) = alerts.budget_alerts_check()
    alerts.budget_alert_email_send(alert_id=alert.pk)
    assert mailoutbox[-1].to == ["mia@example.com", "root@example.com"]  # not the plain editor

    alert_settings.AI_CORE = {
        **alert_settings.AI_CORE,
        "ALERTS": {**THRESHOLDS, "RECIPIENTS": "Budget managers"},
    }
    BudgetAlert.objects.filter(pk=alert.pk).update(emailed_at=None)
    alerts.budget_alert_email_send(alert_id=alert.pk)
    assert mailoutbox[-1].to == ["mia@example.com"]


@pytest.mark.parametrize(
    ("alerts_setting", "named"),
    [
        (
            {"DAILY_COST_USD": {"PER_PROMPT_KEY": {"default": "5.00", "rag_answer": "20,00"}}},
            "AI_CORE['ALERTS']['DAILY_COST_USD']['PER_PROMPT_KEY']['rag_answer'] = '20,00' is not a decimal",
        ),
        ({"DAILY_COST_USD": {"PER_USER": "-1"}}, "AI_CORE['ALERTS']['DAILY_COST_USD']['PER_USER'] = '-1'"),
        (
            {"DAILY_COST_USD": {"per_user": "2.00"}},
            "AI_CORE['ALERTS']['DAILY_COST_USD'] has unknown keys ['per_user']",
        ),
        ({"RECIPIENTS": ["ops at example.com"]}, "AI_CORE['ALERTS']['RECIPIENTS'] has 'ops at example.com'"),
    ],
)
def test_bad_alert_settings_fail_the_system_check_naming_the_setting(settings, alerts_setting, named):
    settings.AI_CORE = {**settings.AI_CORE, "ALERTS": alerts_setting}
    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check")
    assert "budgets.E001" in str(excinfo.value)
    assert named in str(excinfo.value)


def test_the_shipped_alert_settings_pass_the_system_check():
    assert check_alert_settings() == []
