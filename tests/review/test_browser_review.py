"""End to end in a real browser: a visitor's flagged answer waits; a legal reviewer approves it in
Wagtail's admin; the visitor's result page then shows it. Real web server, worker, Redis and DB;
the fake Anthropic server is the only stand-in."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from ai_core.models import AIRequest
from review.models import ReviewItem
from tests.conftest import REPO_ROOT, live_stack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
ANSWER = (
    "Refunds are possible within 30 days of purchase. For a dispute about your contract, consult a lawyer."
)
# Playwright's sync API runs an event loop in its thread; ORM calls made there stay synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def review_stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    """Web server and worker sharing a queue and Redis namespace, generating through the fake server."""
    with live_stack(
        "review-browser",
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_FALLBACK_TO_LOCAL="false",
    ) as web:
        yield web


def run_in_own_thread(fn, *args):
    """Playwright's sync API in a thread of its own: another module's session-wide Playwright may
    already be running an event loop in the main thread, and one thread cannot host two."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review-{name}.png"), full_page=True)


def test_a_reviewer_approves_a_flagged_answer_and_the_visitors_page_then_shows_it(
    review_stack, fake_provider, legal_reviewers
):
    fake_provider.script(path="/v1/messages", reply=ANSWER)
    reviewer = get_user_model().objects.create_user("lena", "lena@example.com", "pw-lena-12345")
    reviewer.groups.add(legal_reviewers)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/browser.sh`")

    request_id = run_in_own_thread(ask_wait_approve_and_reload, review_stack.url)

    item = ReviewItem.objects.get(ai_request_id=request_id)
    assert "professional_referral" in item.reasons and item.reviewer == reviewer
    assert (item.status, AIRequest.objects.get(pk=request_id).status) == ("approved", AIRequest.Status.DONE)


def ask_wait_approve_and_reload(url: str) -> str:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # The visitor asks without JavaScript: the result page refreshes itself until there is
            # an outcome, here the neutral "being checked" message.
            visitor = browser.new_context(java_script_enabled=False).new_page()
            visitor.goto(f"{url}/ask/")
            visitor.fill("#ask-question", "Can I get my money back?")
            visitor.click("[data-ask-submit]")
            expect(visitor.locator(".answer-status")).to_contain_text(
                "being checked by our team", timeout=60_000
            )
            assert "consult a lawyer" not in visitor.content()
            shot(visitor, "1-visitor-waiting")
            request_id = re.search(r"/ask/r/([0-9a-f-]+)/", visitor.url).group(1)

            # The legal reviewer finds it in the Review queue and approves it.
            admin = browser.new_context().new_page()
            admin.goto(f"{url}/admin/login/")
            admin.fill("#id_username", "lena")
            admin.fill("#id_password", "pw-lena-12345")
            admin.click("button[type=submit]")
            expect(admin).to_have_url(f"{url}/admin/")
            menu_item = admin.locator("a.sidebar-menu-item__link[href$='/admin/review/reviewitem/']")
            expect(menu_item).to_have_attribute("data-review-pending", "1")  # the count badge
            menu_item.click()
            expect(admin.locator("h1")).to_contain_text("Review items")
            shot(admin, "2-review-queue")
            admin.locator("tr", has_text="consult a lawyer").get_by_role("link", name="Inspect").click()
            expect(admin.locator("[data-review-output]")).to_contain_text("consult a lawyer")
            shot(admin, "3-inspect")
            admin.locator('form[data-review-action="approve"]').get_by_role("button", name="Approve").click()
            expect(admin.locator(".messages")).to_contain_text("approved: visitors now see it")
            shot(admin, "4-approved")

            # The visitor's page now shows the answer.
            visitor.reload()
            expect(visitor.locator(".answer-text")).to_contain_text("consult a lawyer")
            shot(visitor, "5-visitor-answer")
            return request_id
        finally:
            browser.close()
