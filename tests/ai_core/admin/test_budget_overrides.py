import pytest

from ai_core.budgets.models import BudgetOverride
from ai_core.budgets.services import scopes_for

pytestmark = pytest.mark.django_db


def test_an_admin_sets_a_users_daily_budget_in_the_wagtail_admin(admin_client, django_user_model):
    editor = django_user_model.objects.create_user("editor", "e@example.com", "pw-editor-12")
    assert admin_client.get("/admin/ai/budgets/").status_code == 200
    response = admin_client.post(
        "/admin/ai/budgets/new/", {"user": editor.pk, "daily_tokens": 1234, "note": "pilot"}
    )
    assert response.status_code == 302
    assert BudgetOverride.objects.get(user=editor).daily_tokens == 1234
    assert {scope.name: scope.limit for scope in scopes_for(user=editor)}[f"user:{editor.pk}"] == 1234


def test_editors_without_permission_cannot_open_budgets(client, django_user_model):
    from django.contrib.auth.models import Permission

    editor = django_user_model.objects.create_user("editor", "e@example.com", "pw-editor-12")
    editor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(editor)
    response = client.get("/admin/ai/budgets/")
    assert response.status_code in (302, 403)
