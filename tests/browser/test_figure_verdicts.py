"""A contradicted figure, end to end in a browser: the fake model streams "within 14 days [1]"
where the cited block says 30 days. The visitor's page never shows that sentence (every text the
answer ever showed is recorded), neither do the poll API and the no-JS page, the item waits at high
priority, and the reviewer's inspect screen shows the verdict per sentence with both figures
marked (screenshot in test-artifacts/)."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from ai_core.models import AIRequest
from review import rules
from review.models import ReviewItem

from .conftest import ARTIFACTS
from .helpers import publish_article, wait_for_summary, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSAGE = (
    "You can ask for a refund within 30 days of purchase by writing to support. "
    "Refunds are paid to the original payment method within 10 working days."
)
REPLY = (
    "Refunds are paid to the original payment method within ten working days [1]. "
    "You can ask for a refund within 14 days of purchase by writing to support [1]."
)
HELD = "14 days"
VERDICTS_SHOT = ARTIFACTS / "figure-verdicts-inspect.png"

# Every text the answer element shows, recorded as it changes (streamed deltas, resets, the end).
RECORD_ANSWER_TEXT = """() => {
    window.__answerTexts = [];
    const el = document.querySelector('[data-answer-text]');
    new MutationObserver(() => window.__answerTexts.push(el.textContent))
        .observe(el, {childList: true, subtree: true, characterData: true});
}"""


def blocks():
    def block(kind, value):
        return {"type": kind, "value": value, "id": str(uuid.uuid4())}

    # One section, so the page is one chunk and the scripted answer's [1] is that chunk.
    return [
        block("heading", {"text": "Refund window", "level": "h2"}),
        block("paragraph", f"<p>{PASSAGE}</p>"),
    ]


@pytest.fixture
def reviewer(db):
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


def test_a_contradicted_figure_is_never_shown_and_the_reviewer_sees_it_marked_per_sentence(
    live_stack, browser, fake_provider, reviewer, screenshot
):
    article = publish_article(live_stack, slug=f"refund-window-{uuid.uuid4().hex[:6]}", blocks=blocks())
    wait_for_summary(article, revision_id=article.live_revision_id)  # the scripted reply is the answer's
    fake_provider.script(path="/v1/messages", reply=REPLY, delta_delay=0.1)

    visitor = browser.new_context().new_page()
    visitor.goto(f"{live_stack.url}{article.url}")
    visitor.evaluate(RECORD_ANSWER_TEXT)
    visitor.get_by_label("Your question").fill("How long do I have to ask for a refund?")
    visitor.get_by_role("button", name="Ask").click()
    visitor.get_by_text("being checked by our team").wait_for(timeout=60_000)

    shown = visitor.evaluate("window.__answerTexts")
    assert not any(HELD in text for text in shown), shown
    assert HELD not in visitor.content()
    request = AIRequest.objects.filter(prompt_key="rag_answer").latest("created_at")
    poll = visitor.request.get(f"{live_stack.url}/api/ai/requests/{request.pk}/")
    assert poll.ok and poll.json()["status"] == "awaiting_review" and HELD not in poll.text()
    no_js = visitor.request.get(f"{live_stack.url}/ask/r/{request.pk}/")
    assert no_js.ok and "being checked by our team" in no_js.text() and HELD not in no_js.text()
    screenshot(visitor, "visitor-held")

    item = wait_until(lambda: ReviewItem.objects.filter(ai_request=request).first(), message="no review item")
    assert rules.CONTRADICTED_FIGURE in item.reasons and item.priority == ReviewItem.Priority.HIGH
    assert HELD in item.original_text  # the reviewer gets the whole answer

    admin = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    admin.goto(f"{live_stack.url}/admin/login/")
    admin.fill("#id_username", "lena")
    admin.fill("#id_password", "pw-lena-12345")
    admin.click("button[type=submit]")
    admin.wait_for_url(f"{live_stack.url}/admin/")
    admin.goto(f"{live_stack.url}/admin/review/reviewitem/")
    queue_row = admin.locator("tr", has_text="within 14 days")
    queue_row.get_by_role("link", name="Inspect").click()

    contradicted = admin.locator('[data-verdict="contradicted_figure"]')
    contradicted.wait_for(timeout=20_000)
    assert contradicted.locator("mark.review-figure--conflict").all_inner_texts() == ["14 days", "30 days"]
    assert "[1] says 30 days" in contradicted.inner_text()
    supported = admin.locator('[data-verdict="supported"]')
    assert supported.locator("mark.review-figure--match").all_inner_texts() == [
        "ten working days",
        "10 working days",
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    admin.locator(".review-verdicts").screenshot(path=str(VERDICTS_SHOT))
    screenshot(admin, "inspect")
    assert VERDICTS_SHOT.stat().st_size > 0
    admin.close()
    visitor.close()
