"""In a real browser, the issue's whole flow: a reviewer approves an answer, a visitor asking it in
other words sees the reviewed answer at once (``reuse_flow``), then an editor changes the cited
paragraph in the Wagtail editor and publishes, and the reviewer finds the answer back in the queue
as "Source changed", with the old and new text of the paragraph as a diff, and approves it again
for the new text."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model

from ai_core.models import ApprovedAnswer
from review.models import ReviewItem

from .helpers import publish_article, wait_for_summary, wait_until
from .test_approved_answer_reuse import REFUND, blocks, reuse_flow
from .test_approved_answer_reuse import reviewer as reviewer  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REFUND_NEW = REFUND.replace("30 days", "14 days")


def edit_and_publish(browser, live_stack, article, *, old: str, new: str, screenshot) -> None:
    """An editor replaces the paragraph holding ``old`` with ``new`` in the page editor and publishes."""
    from playwright.sync_api import expect

    get_user_model().objects.create_superuser("editor", "editor@example.com", "pw-editor-123")
    page = browser.new_context().new_page()
    page.goto(f"{live_stack.url}/admin/login/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("pw-editor-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    page.goto(f"{live_stack.url}/admin/pages/{article.pk}/edit/")
    # Before the edit, the AI tab already says the approved answer rests on this paragraph.
    page.get_by_role("tab", name="AI").click()
    expect(page.locator('[data-ai-dependent="approved_answer"]')).to_contain_text(old)
    page.get_by_role("tab", name="Content").click()
    editor = page.locator(".Draftail-Editor [contenteditable=true]", has_text=old).first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(new)
    page.keyboard.press("Tab")  # Draftail writes its hidden input on change
    page.wait_for_function(
        "text => [...document.querySelectorAll('input[type=hidden]')].some(i => i.value.includes(text))",
        arg="14 days",
    )
    page.get_by_role("button", name="More actions").click()
    publish = page.locator("button[name='action-publish']")
    publish.wait_for(state="visible")
    with page.expect_navigation():
        publish.click()
    assert "/edit/" not in page.url, "publishing did not leave the editor"


def test_an_edit_to_the_cited_paragraph_sends_the_reviewed_answer_back_with_a_diff(
    live_stack, browser, fake_provider, reviewer, screenshot
):
    from playwright.sync_api import expect

    article = publish_article(live_stack, slug=f"refund-impact-{uuid.uuid4().hex[:6]}", blocks=blocks())
    wait_for_summary(article, revision_id=article.live_revision_id)
    admin, answer = reuse_flow(
        browser=browser,
        live_stack=live_stack,
        fake_provider=fake_provider,
        article=article,
        screenshot=screenshot,
    )

    edit_and_publish(
        browser, live_stack, article, old="within 30 days", new=REFUND_NEW, screenshot=screenshot
    )
    item = wait_until(
        lambda: ReviewItem.objects.filter(
            kind=ReviewItem.Kind.SOURCE_CHANGED, approved_answer=answer
        ).first(),
        timeout=90,
        message="the approved answer was not sent back to the queue after the publish",
    )
    answer.refresh_from_db()
    assert answer.status == ApprovedAnswer.Status.RETIRED
    assert answer.retired_reason == ApprovedAnswer.RetireReason.SOURCE_CHANGED

    # The reviewer finds it in the queue, labelled, and opens it: the paragraph's old and new text.
    admin.locator("a.sidebar-menu-item__link[href$='/admin/review/reviewitem/']").click()
    row = admin.locator("tr", has=admin.locator('[data-review-kind="source_changed"]'))
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Inspect").click()
    changes = admin.locator("[data-review-source-changes]")
    expect(changes).to_contain_text("Cited source changed")
    expect(changes.locator(".review-diff del.review-diff__del")).to_have_text("30")
    expect(changes.locator(".review-diff ins.review-diff__ins")).to_have_text("14")
    expect(changes).to_contain_text("days of the returned item arriving")
    path = screenshot(admin, "source-changed-diff")
    assert path.exists()

    # Approved again: a new approved answer rests on the new paragraph.
    admin.locator('form[data-review-action="approve"]').get_by_role("button", name="Approve").click()
    expect(admin.locator(".messages")).to_contain_text("approved")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.APPROVED
    fresh = ApprovedAnswer.objects.get(supersedes=answer)
    assert fresh.is_active and "14 days" in fresh.sources[0]["text"]
