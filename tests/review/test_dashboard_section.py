"""The review queue's section of AI → Usage dashboard, contributed by the review app through
ai_core's ``register_ai_dashboard_section`` hook."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ai_core.admin.dashboard.export import tables
from ai_core.models import AIRequest
from review.models import ReviewItem

pytestmark = pytest.mark.django_db
URL = "/admin/ai/dashboard/"
RANGE = {"start": "2025-03-10", "end": "2025-03-12"}


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=dt.UTC)


def _item(*, status, created, decided=None) -> ReviewItem:
    request = AIRequest.objects.create(
        prompt_key="rag_answer", prompt_version=1, session_key="s", status=AIRequest.Status.DONE
    )
    item = ReviewItem.objects.create(ai_request=request, status=status, decided_at=decided)
    ReviewItem.objects.filter(pk=item.pk).update(created_at=created)
    return item


@pytest.fixture
def decisions():
    """Three flagged in the range: approved after 2 h, rejected after 4 h, one still pending."""
    _item(status=ReviewItem.Status.APPROVED, created=_at(10, 9), decided=_at(10, 11))
    _item(status=ReviewItem.Status.REJECTED, created=_at(11, 9), decided=_at(11, 13))
    _item(status=ReviewItem.Status.PENDING, created=_at(12, 9))


def test_the_dashboard_shows_the_review_queue_and_its_kpi(admin_client, decisions):
    html = admin_client.get(URL, RANGE).content.decode()

    assert 'data-kpi="review-decided">2<' in html
    assert html.index('data-kpi="circuit-openings"') < html.index('data-kpi="review-decided"')
    assert 'data-review="flagged">3<' in html
    assert 'data-review="decisions">1 / 0 / 1<' in html
    assert 'data-review="median">3 h 0 min<' in html
    assert 'data-review="pending">1<' in html
    assert "?start=2025-03-10&amp;end=2025-03-12&amp;export=review" in html


def test_the_review_csv_is_exported_under_the_key_review(admin_client, decisions):
    assert "review" in tables()
    response = admin_client.get(URL, {**RANGE, "export": "review"})

    assert response.status_code == 200
    assert 'filename="ai-review-2025-03-10-2025-03-12.csv"' in response["Content-Disposition"]
    assert response.content == (
        b"metric,value\r\nflagged,3\r\ndecided,2\r\napproved,1\r\napproved_with_edits,0\r\n"
        b"rejected,1\r\nmedian_time_to_decision_s,10800\r\npending_at_end,1\r\n"
    )


def test_an_empty_range_shows_zeros_and_no_median(admin_client):
    today = timezone.localdate().isoformat()
    html = admin_client.get(URL, {"start": today, "end": today}).content.decode()

    assert 'data-kpi="review-decided">0<' in html
    assert 'data-review="median">—<' in html
