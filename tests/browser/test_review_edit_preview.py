"""A reviewer editing a held answer sees, as they type, what they changed against the model's text."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from wagtail.models import Locale, Page

from ai_core.models import AIRequest
from review.models import ReviewItem
from review.services import review_item_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MODEL_TEXT = "Refunds within 14 days [1]. Write to us."


def test_the_diff_follows_the_edit_as_the_reviewer_types_and_approving_keeps_it(
    live_server, browser, screenshot
):
    Locale.objects.get_or_create(language_code="en")
    Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    group, _ = Group.objects.get_or_create(name="Legal reviewers")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="review", codename="approve_reviewitem"),
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
    )
    reviewer = get_user_model().objects.create_user("lena", "lena@example.com", "pw-lena-12345")
    reviewer.groups.add(group)
    request = AIRequest.objects.create(
        prompt_key="rag_answer",
        prompt_version=1,
        payload={"question": "How long do refunds take?"},
        status=AIRequest.Status.AWAITING_REVIEW,
        result=MODEL_TEXT,
    )
    item = review_item_create(ai_request=request, reasons=["weak_grounding"])

    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("pw-lena-12345")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    page.goto(f"{live_server.url}/admin/review/reviewitem/approve_with_edits/{item.pk}/")

    textarea = page.locator("textarea[name='edited_text']")
    textarea.fill("")
    textarea.press_sequentially("Refunds within 30 days [1]. <img src=x onerror=alert(1)> Write to us.")
    preview = page.locator("[data-review-live-preview] [data-review-edit-preview]")
    preview.locator("ins.review-diff__ins", has_text="30").wait_for(timeout=15_000)
    assert preview.locator("del.review-diff__del", has_text="14").count() == 1
    # The typed tag is shown as text inside the insertion, never made an element.
    assert preview.locator("img").count() == 0
    assert "<img src=x onerror=alert(1)>" in preview.inner_text()
    assert ReviewItem.objects.get(pk=item.pk).is_pending  # previewing decides nothing
    preview.scroll_into_view_if_needed()
    screenshot(page, "live-diff")

    page.get_by_role("button", name="Approve the edited text").click()
    page.wait_for_url("**/admin/review/reviewitem/")
    page.goto(f"{live_server.url}/admin/review/reviewitem/inspect/{item.pk}/")
    page.locator("[data-review-edit-diff] ins.review-diff__ins", has_text="30").wait_for(timeout=10_000)
    assert ReviewItem.objects.get(pk=item.pk).status == ReviewItem.Status.APPROVED_WITH_EDITS
    page.close()
