"""Building and waiting on real content for browser tests."""

from __future__ import annotations

import time

from ai_core.models import AIRequest
from ai_core.rag.models import KnowledgeChunk
from content.models import ArticlePage, PageSummary
from content.services import article_create_or_skip, home_page_ensure, section_ensure
from tests.conftest import tasks_routed_to


def wait_until(predicate, *, timeout: float = 60, message: str = "condition not met"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{message} (after {timeout} s)")


def publish_article(
    stack, *, slug: str, blocks: list[dict], title: str = "Refunds and cancellations"
) -> ArticlePage:
    """Create and publish an article through the normal publish hook, indexed by the stack's worker."""
    with tasks_routed_to(stack.queue):
        home = home_page_ensure()
        section, _ = section_ensure(home=home, title="Legal", slug="legal")
        page, _ = article_create_or_skip(parent=section, title=title, slug=slug, intro="", blocks=blocks)
    wait_until(
        lambda: KnowledgeChunk.objects.filter(page_id=page.pk).exists(), message="page was not indexed"
    )
    return ArticlePage.objects.get(pk=page.pk)


def wait_for_summary(page: ArticlePage, *, revision_id: int, timeout: float = 60) -> AIRequest:
    def finished():
        summary = PageSummary.objects.filter(page_id=page.pk, revision_id=revision_id).select_related(
            "ai_request"
        )
        summary = summary.first()
        if summary and summary.ai_request.status in {*AIRequest.TERMINAL, AIRequest.Status.AWAITING_REVIEW}:
            return summary.ai_request
        return None

    return wait_until(finished, timeout=timeout, message="summary was not generated")
