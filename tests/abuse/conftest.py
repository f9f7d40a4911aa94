"""Fixtures for the abuse suite: two visitors, two users, a reviewer and an admin, each with
something of their own (requests, a held output, a prompt, a budget, a page with its summary), so
every endpoint can be fed another person's ids. And the session summary of what was sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.models import Locale, Page, Site

from ai_core.budgets.models import BudgetOverride
from ai_core.live_prompts.source import clear_live_prompts
from ai_core.models import AIRequest, ApprovedAnswer, PromptTemplate
from ai_core.models.prompts import ungated_publish
from ai_core.prompts.registry import yaml_prompts
from ai_core.prompts.spec import PromptSpec
from content.models import PageSummary
from review import rules
from review.models import ReviewItem
from review.services import review_item_create
from tests.content.factories import (
    ArticleIndexPageFactory,
    ArticlePageFactory,
    HomePageFactory,
    body_blocks,
)

from .probe import TALLY, abuse_client

SUMMARY_PATH = Path(__file__).resolve().parents[2] / "test-artifacts" / "abuse-summary.json"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """The counts the issue asks for, printed at the end of the run and kept as JSON."""
    if not TALLY.attempted:
        return
    counts = TALLY.as_dict()
    terminalreporter.section("abuse suite")
    terminalreporter.write_line(
        f"requests attempted: {counts['requests_attempted']} across {counts['endpoints']} endpoints; "
        f"2xx: {counts['2xx']}, 3xx: {counts['3xx']}, 4xx: {counts['4xx']}, 5xx: {counts['5xx']} "
        f"(unexpected: {counts['unexpected_5xx']}); "
        f"unescaped renderings: {len(counts['unescaped_renderings'])}"
    )
    terminalreporter.write_line(f"by status: {counts['by_status']}")
    for line in counts["server_errors"]:
        terminalreporter.write_line(f"5xx: {line}")
    SUMMARY_PATH.parent.mkdir(exist_ok=True)
    SUMMARY_PATH.write_text(json.dumps(counts, indent=2))


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """The world's library document is written to a temporary folder, not the repository's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_prompt_cache():
    """Live prompt specs cached by one test must not leak into the next, whose rows rolled back."""
    clear_live_prompts()
    yield
    clear_live_prompts()


@dataclass
class World:
    admin: Client
    reviewer: Client
    user_a: Client
    user_b: Client
    anon_a: Client
    anon_b: Client
    request_a: AIRequest  # user A's finished answer
    request_b: AIRequest  # user B's finished answer
    request_anon_a: AIRequest  # anonymous visitor A's finished answer
    held: ReviewItem  # user B's answer, held for review
    prompt: PromptTemplate
    budget: BudgetOverride
    article: Page
    summary: AIRequest
    document: object  # a Wagtail document in the library
    approved_answer: ApprovedAnswer


def _done_request(**fields) -> AIRequest:
    defaults = {
        "prompt_key": "rag_answer",
        "prompt_version": 2,
        "payload": {"question": "How long do refunds take?"},
        "status": AIRequest.Status.DONE,
        "result": "Refunds are paid within 10 working days [1].",
        "citations": [{"number": 1, "chunk_id": "", "title": "Refund terms", "url": "/guides/refunds/"}],
        "provider": "local",
        "model_used": "extractive-minilm",
    }
    return AIRequest.objects.create(**{**defaults, **fields})


def _article() -> Page:
    Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    home = HomePageFactory(parent=root)
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    section = ArticleIndexPageFactory(parent=home, title="Guides", slug="guides")
    page = ArticlePageFactory(parent=section, slug="refunds", body=body_blocks("Refunds within 30 days."))
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def _prompt() -> PromptTemplate:
    spec = PromptSpec.from_dict({**yaml_prompts()["content_classify"].to_dict()})
    row = PromptTemplate(live=False)
    row.apply_spec(spec)
    row.save()
    with ungated_publish("abuse suite fixture"):
        row.save_revision().publish()
    row.refresh_from_db()
    return row


@pytest.fixture
def world(db) -> World:
    users = get_user_model().objects
    admin = users.create_superuser("root", "root@example.com", "pw-root-12345")
    reviewer = users.create_user("lena", "lena@example.com", "pw-lena-12345")
    group, _ = Group.objects.get_or_create(name="Legal reviewers")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="review", codename__in=["approve_reviewitem", "view_reviewitem"]
        ),
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
    )
    reviewer.groups.add(group)
    user_a = users.create_user("alice", "alice@example.com", "pw-alice-12345")
    user_b = users.create_user("bob", "bob@example.com", "pw-bob-12345")

    clients = {}
    for name, user in [("admin", admin), ("reviewer", reviewer), ("user_a", user_a), ("user_b", user_b)]:
        clients[name] = abuse_client()
        clients[name].force_login(user)
    anon_a, anon_b = abuse_client(), abuse_client()
    for name, anon in [("a", anon_a), ("b", anon_b)]:
        session = anon.session  # a session of its own (non-empty, so the cookie is kept)
        session["visitor"] = name
        session.save()

    held_request = _done_request(user=user_b)
    held_request.status = AIRequest.Status.AWAITING_REVIEW
    held_request.save(update_fields=["status"])
    held = review_item_create(ai_request=held_request, reasons=[rules.PROFESSIONAL_REFERRAL])

    article = _article()
    summary = _done_request(session_key="system", page_id=article.pk)
    summary.prompt_key = "page_summary"
    summary.save(update_fields=["prompt_key"])
    PageSummary.objects.create(page=article, revision_id=article.live_revision_id, ai_request=summary)
    anon_session = anon_a.cookies["sessionid"].value

    return World(
        **clients,
        anon_a=anon_a,
        anon_b=anon_b,
        request_a=_done_request(user=user_a),
        request_b=_done_request(user=user_b),
        request_anon_a=_done_request(session_key=anon_session),
        held=held,
        prompt=_prompt(),
        budget=BudgetOverride.objects.create(user=user_b, daily_tokens=5000, note="pilot"),
        article=article,
        summary=summary,
        document=get_document_model().objects.create(
            title="Terms", file=ContentFile(b"Refunds within 30 days.", name="terms.txt")
        ),
        approved_answer=ApprovedAnswer.objects.create(
            question="How long do refunds take?",
            prompt_key="rag_answer",
            prompt_version=2,
            text="Refunds are paid within 30 days [1].",
            page_id=article.pk,
            approved_at=timezone.now(),
        ),
    )


def row_counts() -> dict[str, int]:
    """What a rejected request must leave unchanged."""
    from ai_core.models import AIFeedback, LLMUsageLog

    models = [AIRequest, AIFeedback, LLMUsageLog, ReviewItem, PromptTemplate, BudgetOverride, PageSummary]
    return {model.__name__: model.objects.count() for model in models}
