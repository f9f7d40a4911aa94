"""An editor changes a paragraph in the Wagtail admin and publishes; the public page's AI summary is
regenerated for the new revision and cites the changed block."""

import uuid

import pytest
from django.contrib.auth import get_user_model

from content.models import ArticlePage

from .helpers import publish_article, wait_for_summary

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_publishing_an_edit_updates_the_summary_and_cites_the_changed_block(
    live_stack, browser, fake_provider, screenshot
):
    # Remote models answer 529, so summaries come from the offline extractive provider, which
    # quotes the page's own sentences: the summary must then contain the edited sentence.
    fake_provider.script(path="/v1/messages", status=529, times=1000)
    changed_id = str(uuid.uuid4())
    blocks = [
        {
            "type": "paragraph",
            "id": changed_id,
            "value": "<p>Refunds are available within 30 days of purchase.</p>",
        },
        {"type": "heading", "id": str(uuid.uuid4()), "value": {"text": "Cancelling", "level": "h2"}},
        {
            "type": "paragraph",
            "id": str(uuid.uuid4()),
            "value": "<p>Monthly plans can be cancelled at any time.</p>",
        },
        {
            "type": "list",
            "id": str(uuid.uuid4()),
            "value": {"style": "ul", "items": ["Open Settings", "Choose Plan"]},
        },
    ]
    article = publish_article(live_stack, slug=f"refund-policy-{uuid.uuid4().hex[:6]}", blocks=blocks)
    wait_for_summary(article, revision_id=article.live_revision_id)
    get_user_model().objects.create_superuser("editor", "editor@example.com", "pw-editor-123")

    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.goto(f"{live_stack.url}/admin/login/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("pw-editor-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    page.goto(f"{live_stack.url}/admin/pages/{article.pk}/edit/")
    editor = page.locator(".Draftail-Editor [contenteditable=true]", has_text="within 30 days").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("Refunds are now available within 45 days of purchase.")
    # Draftail writes its hidden input on change; leave the editor so the form carries the new text.
    page.keyboard.press("Tab")
    page.wait_for_function(
        "[...document.querySelectorAll('input[type=hidden]')].some(i => i.value.includes('45 days'))"
    )
    screenshot(page, "edited")
    page.get_by_role("button", name="More actions").click()
    publish = page.locator("button[name='action-publish']")
    publish.wait_for(state="visible")
    with page.expect_navigation():
        publish.click()
    assert "/edit/" not in page.url, f"publishing did not leave the editor; dialogs: {dialogs}"

    screenshot(page, "after-publish")
    article = ArticlePage.objects.get(pk=article.pk)
    latest = article.get_latest_revision()
    assert "45 days" in str(article.body[0].value), (page.url, latest.created_at, str(latest.content)[:600])
    assert article.body[0].id == changed_id  # the block keeps its id across the edit
    summary = wait_for_summary(article, revision_id=article.live_revision_id, timeout=90)
    assert summary.status == "done", summary.error
    assert "45 days" in summary.result

    page.goto(f"{live_stack.url}{article.url}")
    box = page.locator("[data-ai-summary]")
    box.wait_for()
    assert "45 days" in box.inner_text()
    assert "local mode, extractive" in box.inner_text()
    hrefs = box.locator("a.citation").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert f"{article.url}#block-{changed_id}" in hrefs
    screenshot(page, "summary")
    page.close()
