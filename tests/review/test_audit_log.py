"""Every flag, decision and escalation is in Wagtail's audit log and the item's history."""

import pytest
from django.contrib.contenttypes.models import ContentType
from wagtail.models import ModelLogEntry

from review.models import ReviewItem
from review.services import (
    review_item_approve,
    review_item_approve_with_edits,
    review_item_reject,
    review_items_escalate,
)

from .conftest import admin_url

pytestmark = pytest.mark.django_db


def entries(item) -> list[tuple[str, str | None, str]]:
    logs = ModelLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(ReviewItem), object_id=str(item.pk)
    ).order_by("timestamp", "pk")
    return [(log.action, log.user.username if log.user else None, log.message) for log in logs]


def test_flagging_is_logged_as_the_system_with_its_reasons(make_held):
    item = make_held(reasons=["professional_referral", "weak_grounding"])
    assert entries(item) == [
        ("review.flag", None, "Held for review: Professional referral, Weak grounding"),
    ]


@pytest.mark.parametrize(
    ("decide", "action", "message"),
    [
        (lambda i, u: review_item_approve(item=i, user=u, note="Fine"), "review.approve", "Approved: Fine"),
        (
            lambda i, u: review_item_approve_with_edits(
                item=i, user=u, edited_text="Shorter.", note="Trimmed"
            ),
            "review.approve_with_edits",
            "Approved with edits (1 word(s) added, 15 removed): Trimmed",
        ),
        (lambda i, u: review_item_reject(item=i, user=u, note="Advice"), "review.reject", "Rejected: Advice"),
    ],
)
def test_each_decision_is_logged_with_the_reviewer_and_note(make_held, reviewer, decide, action, message):
    item = make_held()
    decide(item, reviewer)
    assert entries(item)[-1] == (action, "lena", message)


def test_escalation_is_logged(make_held, settings):
    item = make_held()
    ReviewItem.objects.filter(pk=item.pk).update(created_at=item.created_at.replace(year=2000))
    review_items_escalate()
    assert entries(item)[-1] == (
        "review.escalate",
        None,
        "Escalated: pending too long, priority raised from Normal to High",
    )


def test_the_history_is_visible_on_the_item_and_in_wagtails_history_view(client, make_held, reviewer):
    item = make_held()
    client.force_login(reviewer)
    client.post(admin_url("reject", item), {"note": "Gives legal advice"})
    inspect = client.get(admin_url("inspect", item)).content.decode()
    assert 'data-action="review.reject"' in inspect and "Rejected: Gives legal advice" in inspect
    assert 'data-action="review.flag"' in inspect
    history = client.get(admin_url("history", item))
    assert history.status_code == 200
    assert "Rejected: Gives legal advice" in history.content.decode()


def test_decisions_appear_in_wagtails_site_history_report(client, make_held, admin_user):
    item = make_held()
    review_item_approve(item=item, user=admin_user, note="ok")
    client.force_login(admin_user)
    report = client.get("/admin/reports/site-history/").content.decode()
    assert "Approved: ok" in report
    assert admin_url("inspect", item) in report  # the entry links to the item
