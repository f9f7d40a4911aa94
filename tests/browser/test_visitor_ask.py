"""A visitor asks on an article page: the answer streams in, then citations; Stop cancels."""

import uuid

import pytest

from ai_core.models import AIRequest
from ai_core.rag.models import KnowledgeChunk

from .helpers import publish_article, wait_for_summary, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REFUND_TEXT = "Refunds are available within 30 days of purchase for annual plans."


def blocks():
    def block(kind, value):
        return {"type": kind, "value": value, "id": str(uuid.uuid4())}

    # One section, so the page is one chunk and the scripted answer's [1] is that chunk.
    return [
        block("heading", {"text": "Refund window", "level": "h2"}),
        block("paragraph", f"<p>{REFUND_TEXT} Monthly plans can be cancelled at any time.</p>"),
        block("list", {"style": "ul", "items": ["Annual plans: 30 days", "Monthly plans: cancel any time"]}),
    ]


@pytest.fixture
def article(live_stack):
    page = publish_article(live_stack, slug=f"refunds-{uuid.uuid4().hex[:6]}", blocks=blocks())
    wait_for_summary(page, revision_id=page.live_revision_id)  # so the scripted replies go to the question
    return page


def test_answer_streams_in_then_citations_and_a_citation_lands_on_its_block(
    live_stack, browser, fake_provider, article, screenshot
):
    fake_provider.script(
        path="/v1/messages",
        # Two sentences: visitors receive each sentence once the review rules have checked it.
        reply="Annual plans can be refunded within 30 days of purchase [1]. Monthly plans can be cancelled at any time [1].",
        delta_delay=0.15,
    )
    page = browser.new_page()
    page.goto(f"{live_stack.url}{article.url}")
    page.get_by_label("Your question").fill("How long do I have to ask for a refund?")
    page.get_by_role("button", name="Ask").click()
    # Text is visible while the sources list is still empty: it is streaming, not arriving whole.
    page.wait_for_function(
        "document.querySelector('[data-answer-text]').textContent.length > 0 &&"
        " document.querySelector('[data-answer-sources]').children.length === 0",
        timeout=20_000,
    )
    page.wait_for_selector("[data-answer-sources] li", timeout=20_000)
    assert "30 days" in page.locator("[data-answer-text]").inner_text()
    screenshot(page, "answered")

    citation = page.locator("[data-answer-text] a.citation").first
    href = citation.get_attribute("href")
    assert href.startswith(article.url) and "#block-" in href
    citation.click()
    block_id = href.split("#block-")[1]
    target = page.locator(f"#block-{block_id}")
    target.wait_for()
    assert page.evaluate("location.hash") == f"#block-{block_id}"
    assert target.evaluate("el => el.matches(':target')")
    request = AIRequest.objects.filter(prompt_key="rag_answer").latest("created_at")
    cited = KnowledgeChunk.objects.get(pk=int(request.citations[0]["chunk_id"]))
    assert block_id in cited.block_ids and "30 days" in cited.text
    screenshot(page, "cited-block")
    page.close()


def test_stop_cancels_the_stream_and_keeps_the_partial_answer(
    live_stack, browser, fake_provider, article, screenshot
):
    # No figure the cited block lacks: the stream gate would hold the answer at "Point 10", and
    # the test would then depend on Stop being pressed before the stream got that far.
    long_reply = " ".join("Another point about refunds within 30 days [1]." for _ in range(60))
    fake_provider.script(path="/v1/messages", reply=long_reply, delta_delay=0.3)
    page = browser.new_page()
    page.goto(f"{live_stack.url}{article.url}")
    page.get_by_label("Your question").fill("Tell me everything about refunds")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_function(
        "document.querySelector('[data-answer-text]').textContent.length > 20", timeout=20_000
    )
    page.get_by_role("button", name="Stop").focus()
    page.keyboard.press("Enter")  # keyboard-operable
    page.get_by_text("Stopped: the answer above is incomplete.").wait_for(timeout=20_000)
    screenshot(page, "stopped")
    request = wait_until(
        lambda: AIRequest.objects.filter(prompt_key="rag_answer", status=AIRequest.Status.CANCELLED).first(),
        message="request was not cancelled",
    )
    assert request.result and len(request.result) < len(long_reply) / 2
    page.close()


def test_a_refused_stream_still_shows_the_answer_from_the_poll_api(
    live_stack, browser, fake_provider, article, screenshot
):
    fake_provider.script(path="/v1/messages", reply="Annual plans can be refunded within 30 days [1].")
    page = browser.new_page()
    # As the server answers a visitor past the open-stream cap (or with streaming down).
    page.route(
        "**/api/ai/requests/*/stream/",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "5"},
            content_type="application/json",
            body='{"error": {"code": "too_many_streams", "message": "Too many answer streams are open."}}',
        ),
    )
    page.goto(f"{live_stack.url}{article.url}")
    page.get_by_label("Your question").fill("How long do I have to ask for a refund?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_selector("[data-answer-sources] li", timeout=30_000)
    assert "30 days" in page.locator("[data-answer-text]").inner_text()
    assert page.get_by_role("button", name="Ask").is_enabled()
    screenshot(page, "answered-by-poll")
    page.close()
