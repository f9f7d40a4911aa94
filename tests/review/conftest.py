"""Fixtures for the review tests: a legal reviewer, an editor, a visitor, and held outputs."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from wagtail.models import Locale, Page, Site

from ai_core.models import AIRequest
from review import rules
from review.models import ReviewItem
from review.services import review_item_create
from tests.content.factories import ArticleIndexPageFactory, HomePageFactory

SOURCES = [
    {"number": 1, "chunk_id": "", "title": "Refund terms", "url": "/guides/refunds/"},
    {"number": 2, "chunk_id": "", "title": "Contact", "url": "/contact/"},
]
FLAGGED_TEXT = "You can get a refund within 30 days [1]. For anything else, consult a lawyer."


@pytest.fixture
def legal_reviewers(db) -> Group:
    """Created by review's data migration; re-created here because transactional tests flush it."""
    group, _ = Group.objects.get_or_create(name="Legal reviewers")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="review", codename__in=["approve_reviewitem", "view_reviewitem"]
        ),
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
    )
    return group


@pytest.fixture
def reviewer(legal_reviewers):
    user = get_user_model().objects.create_user("lena", "lena@example.com", "pw-lena-12345")
    user.groups.add(legal_reviewers)
    return user


@pytest.fixture
def editor(db):
    """An admin user without any review permission (Wagtail's "Editors" group)."""
    user = get_user_model().objects.create_user("eddie", "eddie@example.com", "pw-eddie-12345")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def visitor(db):
    return get_user_model().objects.create_user("vera", "vera@example.com", "pw-vera-12345")


@pytest.fixture
def make_held(visitor):
    """An output the gate held, with its queue item, as the worker leaves them."""

    def _make(
        text: str = FLAGGED_TEXT,
        *,
        reasons: list[str] | None = None,
        prompt_key: str = "rag_answer",
        user=visitor,
        citations: list[dict] | None = None,
        **fields,
    ) -> ReviewItem:
        ai_request = AIRequest.objects.create(
            user=user,
            prompt_key=prompt_key,
            prompt_version=1,
            payload={"question": "Can I get my money back?"},
            status=AIRequest.Status.AWAITING_REVIEW,
            result=text,
            citations=SOURCES if citations is None else citations,
            provider="anthropic",
            model_used="claude-sonnet-4-6",
            **fields,
        )
        return review_item_create(
            ai_request=ai_request, reasons=reasons if reasons is not None else [rules.PROFESSIONAL_REFERRAL]
        )

    return _make


def admin_url(action: str, item: ReviewItem | None = None) -> str:
    from review.wagtail_hooks import review_admin

    if item is None:
        return review_admin.url_helper.get_action_url(action)
    return review_admin.url_helper.get_action_url(action, item.pk)


@pytest.fixture
def section(db):
    """A home page and a "Guides" section, as articles need (a flush may have removed the root)."""
    Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    home = HomePageFactory(parent=root)
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    return ArticleIndexPageFactory(parent=home, title="Guides", slug="guides")
