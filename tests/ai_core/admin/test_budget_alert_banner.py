"""The budget alert banner on admin pages, acknowledging it, and AI → Budget alerts."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission

from ai_core.budgets.models import BudgetAlert
from ai_core.budgets.services import today

pytestmark = pytest.mark.django_db

BANNER = "/admin/ai/budget-alerts/banner/"
ACKNOWLEDGE = "/admin/ai/budget-alerts/acknowledge/"
LISTING = "/admin/ai/budget-alerts/"


@pytest.fixture
def alert(db):
    return BudgetAlert.objects.create(
        kind=BudgetAlert.Kind.PROMPT_KEY,
        scope_value="rag_answer",
        day=today(),
        threshold_usd=Decimal("20.00"),
        cost_usd=Decimal("23.41"),
    )


@pytest.fixture
def editor(django_user_model):
    """Can use the Wagtail admin, but not manage budgets."""
    user = django_user_model.objects.create_user("eddie", "eddie@example.com", "pw-eddie-12")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-12")


def test_every_admin_page_loads_the_banner(client, admin_user):
    client.force_login(admin_user)
    for url in ("/admin/", "/admin/pages/", "/admin/ai/routing/"):
        html = client.get(url).content.decode()
        assert 'src="/static/ai_core/admin/budget-alerts.js' in html
        assert f'data-banner-url="{BANNER}"' in html


def test_a_superuser_sees_todays_alert_as_a_wagtail_warning(client, admin_user, alert):
    client.force_login(admin_user)
    response = client.get(BANNER, HTTP_REFERER="/admin/pages/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="help-block help-warning"' in html
    assert "prompt key “rag_answer”: $23.41 spent (threshold $20.00)" in html
    assert f'action="{ACKNOWLEDGE}"' in html and "csrfmiddlewaretoken" in html
    assert f'name="alert" value="{alert.pk}"' in html


def test_an_editor_without_the_budget_permission_sees_no_banner(client, editor, alert):
    client.force_login(editor)
    assert client.get("/admin/").status_code == 200
    assert client.get(BANNER).status_code == 204
    response = client.get(LISTING, follow=True)  # Wagtail's way: back to the dashboard, with a message
    assert response.redirect_chain == [("/admin/", 302)]
    assert "Sorry, you do not have permission to access this area." in response.content.decode()


def test_a_group_granted_budget_alerts_sees_the_banner(client, editor, alert):
    group = Group.objects.create(name="Budget managers")
    group.permissions.add(Permission.objects.get(codename="change_budgetalert"))
    editor.groups.add(group)
    client.force_login(editor)
    assert "rag_answer" in client.get(BANNER).content.decode()


def test_acknowledging_removes_the_banner_and_returns_to_the_page(client, admin_user, alert):
    client.force_login(admin_user)
    response = client.post(ACKNOWLEDGE, {"alert": [alert.pk], "next": "/admin/pages/"})
    assert response.status_code == 302 and response["Location"] == "/admin/pages/"
    alert.refresh_from_db()
    assert alert.acknowledged_by == admin_user and alert.acknowledged_at is not None
    assert client.get(BANNER).status_code == 204
    assert "Acknowledged 1 budget alert." in client.get("/admin/pages/").content.decode()


def test_acknowledging_without_permission_is_forbidden(client, editor, alert):
    client.force_login(editor)
    response = client.post(ACKNOWLEDGE, {"alert": [alert.pk], "next": "/admin/"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_acknowledging_needs_the_csrf_token(admin_user, alert):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(ACKNOWLEDGE, {"alert": [alert.pk]}).status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_an_alert_raised_after_the_banner_was_shown_stays_visible(client, admin_user, alert):
    later = BudgetAlert.objects.create(
        kind=BudgetAlert.Kind.USER,
        scope_value=str(admin_user.pk),
        user=admin_user,
        day=today(),
        threshold_usd=Decimal("2.00"),
        cost_usd=Decimal("2.50"),
    )
    client.force_login(admin_user)
    client.post(ACKNOWLEDGE, {"alert": [alert.pk], "next": "https://evil.example.com/"})
    html = client.get(BANNER).content.decode()
    assert "user root: $2.50 spent" in html and "rag_answer" not in html
    later.refresh_from_db()
    assert later.acknowledged_at is None


def test_an_offsite_next_is_not_followed(client, admin_user, alert):
    client.force_login(admin_user)
    response = client.post(ACKNOWLEDGE, {"alert": [alert.pk], "next": "https://evil.example.com/"})
    assert response["Location"] == LISTING


def test_the_ai_menu_lists_alerts_for_budget_managers(client, admin_user, alert):
    client.force_login(admin_user)
    assert "Budget alerts" in client.get("/admin/").content.decode()  # the AI submenu
    html = client.get(LISTING).content.decode()
    assert "prompt key “rag_answer”" in html and "$23.4100" in html and "Acknowledge" in html


def test_the_ai_menu_hides_alerts_from_editors(client, editor):
    client.force_login(editor)
    assert "Budget alerts" not in client.get("/admin/").content.decode()


def test_admins_can_grant_budget_alerts_to_a_group(client, admin_user):
    client.force_login(admin_user)
    html = client.get("/admin/groups/new/").content.decode()
    permission = Permission.objects.get(content_type__app_label="budgets", codename="change_budgetalert")
    assert f'value="{permission.pk}"' in html
