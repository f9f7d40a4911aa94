"""A budget manager sees today's cost alert as a warning on an admin page and acknowledges it there."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from wagtail.models import Locale, Page

from ai_core.budgets.models import BudgetAlert
from ai_core.budgets.services import today

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_banner_appears_on_an_admin_page_and_acknowledging_removes_it(live_server, browser, screenshot):
    # The admin needs Wagtail's root page, which the flush after another transactional test removes.
    Locale.objects.get_or_create(language_code="en")
    Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    BudgetAlert.objects.create(
        kind=BudgetAlert.Kind.PROMPT_KEY,
        scope_value="rag_answer",
        day=today(),
        threshold_usd=Decimal("20.00"),
        cost_usd=Decimal("23.41"),
    )
    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1234")

    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("pw-boss-1234")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    page.goto(f"{live_server.url}/admin/pages/")

    banner = page.locator("#main .content [data-budget-alert-banner] .help-warning")
    banner.wait_for(timeout=10_000)
    assert "rag_answer" in banner.inner_text() and "$23.41 spent (threshold $20.00)" in banner.inner_text()
    screenshot(page, "banner")

    banner.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url("**/admin/pages/")
    page.get_by_text("Acknowledged 1 budget alert.").wait_for(timeout=10_000)
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-budget-alert-banner]").count() == 0
    assert BudgetAlert.objects.get().acknowledged_at is not None
    page.close()
