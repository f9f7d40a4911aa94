"""The Redis copy of a user's BudgetOverride that the budget's Lua step reads at submit: a changed
override applies to the very next submit, a missing or stale copy never loosens a budget."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ai_core.budgets import services as budgets
from ai_core.budgets.models import BudgetOverride
from ai_core.budgets.override_mirror import override_mirror_fill, override_mirror_key
from ai_core.prompts.registry import get_prompt
from ai_core.resilience.runtime import shared_redis

pytestmark = pytest.mark.django_db

PAYLOAD = {"text": "Where is my invoice?"}


@pytest.fixture
def editor(db):
    return get_user_model().objects.create_user("editor", "editor@example.com", "pw-editor-1")


@pytest.fixture
def estimate():
    return budgets.estimate_tokens(get_prompt("content_classify"), PAYLOAD)


def submit(client):
    body = {"prompt_key": "content_classify", "payload": PAYLOAD}
    return client.post("/api/ai/requests/", json.dumps(body), content_type="application/json")


def override_selects(queries) -> int:
    return sum("budgets_budgetoverride" in query["sql"] for query in queries.captured_queries)


def test_a_lowered_override_applies_to_the_very_next_submit(
    client, editor, estimate, django_capture_on_commit_callbacks
):
    override = BudgetOverride.objects.create(user=editor, daily_tokens=estimate * 10)
    client.force_login(editor)
    assert submit(client).status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        override.daily_tokens = estimate // 2
        override.save()
    assert submit(client).status_code == 429
    assert shared_redis().get(override_mirror_key(editor.pk)) == str(estimate // 2).encode()


def test_with_a_copy_in_redis_the_submit_does_not_select_the_override(client, editor, estimate):
    BudgetOverride.objects.create(user=editor, daily_tokens=estimate * 10)
    client.force_login(editor)
    with CaptureQueriesContext(connection) as first:
        assert submit(client).status_code == 202  # no copy yet: read from the database, then kept
    with CaptureQueriesContext(connection) as second:
        assert submit(client).status_code == 202
    assert override_selects(first) == 1
    assert override_selects(second) == 0


def test_a_lowered_override_saved_in_the_wagtail_admin_refuses_the_users_next_submit(
    admin_client, client, editor, estimate, django_capture_on_commit_callbacks
):
    override = BudgetOverride.objects.create(user=editor, daily_tokens=estimate * 10)
    client.force_login(editor)
    assert submit(client).status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/ai/budgets/edit/{override.pk}/",
            {"user": editor.pk, "daily_tokens": estimate // 2, "note": "cut"},
        )
    assert response.status_code == 302
    response = submit(client)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "budget_exceeded"


def test_a_copy_filled_from_the_row_before_commit_is_overwritten_when_the_change_commits(
    client, editor, estimate, django_capture_on_commit_callbacks
):
    override = BudgetOverride.objects.create(user=editor, daily_tokens=estimate * 10)
    with django_capture_on_commit_callbacks(execute=True):
        override.daily_tokens = estimate // 2
        override.save()
        # Another process's submit read the old row before this commit and stored it.
        override_mirror_fill(user_id=editor.pk, daily_tokens=estimate * 10)
    client.force_login(editor)
    assert submit(client).status_code == 429


def test_a_missing_copy_falls_back_to_the_database(client, editor, estimate):
    BudgetOverride.objects.create(user=editor, daily_tokens=estimate // 2)
    client.force_login(editor)
    assert submit(client).status_code == 429
    shared_redis().delete(override_mirror_key(editor.pk))  # evicted, expired or Redis flushed
    assert submit(client).status_code == 429
    assert budgets.budget_usage(scope=f"user:{editor.pk}") == 0


def test_deleting_an_override_restores_the_default_budget(
    client, editor, estimate, django_capture_on_commit_callbacks, settings
):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "BUDGETS": {**settings.AI_CORE["BUDGETS"], "USER_DAILY_TOKENS": estimate // 2},
    }
    override = BudgetOverride.objects.create(user=editor, daily_tokens=estimate * 10)
    client.force_login(editor)
    assert submit(client).status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        override.delete()
    assert submit(client).status_code == 429  # the (lower) default applies again at once


def test_an_override_moved_to_another_user_stops_applying_to_the_first(
    client, editor, estimate, django_capture_on_commit_callbacks, settings
):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "BUDGETS": {**settings.AI_CORE["BUDGETS"], "USER_DAILY_TOKENS": estimate // 2},
    }
    other = get_user_model().objects.create_user("other", "other@example.com", "pw-other-12")
    override = BudgetOverride.objects.create(user=editor, daily_tokens=estimate * 10)
    client.force_login(editor)
    assert submit(client).status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        override.user = other
        override.save()
    assert submit(client).status_code == 429
