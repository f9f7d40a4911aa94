"""In a real browser: a visitor's answer is held, a legal reviewer approves it in the admin, and a
second visitor asking the same thing in other words sees the reviewed answer at once, labelled
"Reviewed on DATE", with its sources, and without a model call. Then the reviewer finds it under
Review → Approved answers. (The issue's other half, an editor changing the cited paragraph and
the reviewer seeing the diff in the queue, extends this flow: see ``reuse_flow``.)"""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from ai_core.models import AIRequest, ApprovedAnswer, LLMUsageLog

from .helpers import publish_article, wait_for_summary, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REFUND = "Refunds are paid back to the original card within 30 days of the returned item arriving."
HELD_REPLY = "Refunds reach your original card within 30 days [1]. For anything else, consult a lawyer."
ASKED = "How long does a refund take to reach my card?"
REWORDED = "How long do refunds take to get back to my card?"
PENDING = "being checked by our team"


def blocks():
    def block(kind, value):
        return {"type": kind, "value": value, "id": str(uuid.uuid4())}

    return [block("heading", {"text": "Refund times", "level": "h2"}), block("paragraph", f"<p>{REFUND}</p>")]


@pytest.fixture
def reviewer(live_stack):
    group, _ = Group.objects.get_or_create(name="Legal reviewers")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="review", codename__in=["approve_reviewitem", "view_reviewitem"]
        ),
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
    )
    user = get_user_model().objects.create_user("lena", "lena@example.com", "pw-lena-12345")
    user.groups.add(group)
    return user


def ask(page, url: str, question: str) -> None:
    page.goto(url)
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Ask").click()


def reuse_flow(*, browser, live_stack, fake_provider, article, screenshot):
    """Reviewer approves; a visitor's rewording is answered from the approval. Returns the admin
    page (logged in as the reviewer) and the approved answer, for tests that carry on from here."""
    from playwright.sync_api import expect

    fake_provider.script(path="/v1/messages", reply=HELD_REPLY)
    first = browser.new_context().new_page()
    ask(first, f"{live_stack.url}{article.url}", ASKED)
    expect(first.locator("[data-answer-status]")).to_contain_text(PENDING, timeout=60_000)
    assert "consult a lawyer" not in first.locator("[data-answer-text]").inner_text()

    admin = browser.new_context().new_page()
    admin.goto(f"{live_stack.url}/admin/login/")
    admin.fill("#id_username", "lena")
    admin.fill("#id_password", "pw-lena-12345")
    admin.click("button[type=submit]")
    expect(admin).to_have_url(f"{live_stack.url}/admin/")
    admin.locator("a.sidebar-menu-item__link[href$='/admin/review/reviewitem/']").click()
    admin.locator("tr", has_text="consult a lawyer").get_by_role("link", name="Inspect").click()
    admin.locator('form[data-review-action="approve"]').get_by_role("button", name="Approve").click()
    expect(admin.locator(".messages")).to_contain_text("approved")
    answer = wait_until(
        lambda: ApprovedAnswer.objects.filter(question=ASKED, embedding__isnull=False).first(),
        message="the approved question was never embedded",
    )
    # The first visitor, still on the page, now gets the approved answer too.
    expect(first.locator("[data-answer-text]")).to_contain_text("consult a lawyer", timeout=30_000)

    calls = len(fake_provider.requests_for(path="/v1/messages"))
    second = browser.new_context().new_page()
    ask(second, f"{live_stack.url}{article.url}", REWORDED)
    expect(second.locator("[data-answer-text]")).to_contain_text("consult a lawyer", timeout=30_000)
    expect(second.locator("[data-ai-label]")).to_contain_text("Reviewed on ")
    expect(second.locator("[data-answer-sources] li")).to_have_count(1)
    href = second.locator("[data-answer-text] a.citation").first.get_attribute("href")
    assert href.startswith(article.url) and "#block-" in href
    screenshot(second, "reviewed-answer")
    assert len(fake_provider.requests_for(path="/v1/messages")) == calls  # no model call
    reused = AIRequest.objects.filter(payload__question=REWORDED).get()
    assert reused.approved_answer_id == answer.pk
    assert list(LLMUsageLog.objects.filter(request=reused).values_list("outcome", "cost_usd")) == [
        ("approved_answer", 0)
    ]
    return admin, answer


def test_a_reviewed_answer_is_served_at_once_for_a_reworded_question(
    live_stack, browser, fake_provider, reviewer, screenshot
):
    from playwright.sync_api import expect

    article = publish_article(live_stack, slug=f"refund-times-{uuid.uuid4().hex[:6]}", blocks=blocks())
    wait_for_summary(article, revision_id=article.live_revision_id)  # scripted replies go to the questions
    admin, answer = reuse_flow(
        browser=browser,
        live_stack=live_stack,
        fake_provider=fake_provider,
        article=article,
        screenshot=screenshot,
    )
    admin.locator("a.sidebar-menu-item__link", has_text="Approved answers").click()
    row = admin.locator("table.approved-answers tr", has_text=ASKED)
    expect(row).to_contain_text("consult a lawyer")
    assert re.search(r"\b1\b", row.locator("td").nth(3).inner_text())  # one hit
    screenshot(admin, "approved-answers")
    assert answer.question == ASKED
