"""Mail to reviewers: one batched mail per burst of high-priority items, and escalations."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from review import rules
from review.models import ReviewItem
from review.notifications import digest_marker_key
from review.tasks import escalate_stale_reviews, send_review_digest
from site_config.celery_routes import task_queue
from tests.conftest import queued_headers, tasks_routed_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def digest_queue(redis_client):
    """A queue no worker consumes, so the test sees exactly what would be sent to Celery."""
    base = f"{django_settings.CELERY_TASK_DEFAULT_QUEUE}-review-digest"
    name = task_queue("review.send_digest", base=base)  # the digest's workload queue under ``base``
    redis_client.delete(name)
    with tasks_routed_to(base):
        yield name
    redis_client.delete(name)


def flag_high(make_held, capture, n: int) -> ReviewItem:
    with capture(execute=True):  # the schedule runs on commit, as in the worker
        return make_held(f"Write to person{n}@example.org.", reasons=[rules.PERSONAL_DATA])


def test_a_burst_of_high_priority_items_is_mailed_once_after_the_batch_window(
    make_held, reviewer, editor, mailoutbox, django_capture_on_commit_callbacks, redis_client, digest_queue
):
    items = [flag_high(make_held, django_capture_on_commit_callbacks, n) for n in range(5)]
    (task,) = queued_headers(redis_client, digest_queue)  # one digest for the whole burst
    assert task["task"] == "review.send_digest" and task["eta"]  # sent with the batch countdown
    assert mailoutbox == []

    send_review_digest.apply()  # what the worker runs when the countdown ends
    (mail,) = mailoutbox
    assert mail.to == ["lena@example.com"]  # legal reviewers only, not the editor
    assert "5 high-priority AI output(s) awaiting review" in mail.subject
    for item in items:
        assert f"/admin/review/reviewitem/inspect/{item.pk}/" in mail.body
    assert "Contact details or personal data not in the sources" in mail.body

    send_review_digest.apply()
    assert len(mailoutbox) == 1  # nothing new, nothing sent, nothing repeated


def test_the_first_item_after_a_digest_starts_a_new_batch(
    make_held, reviewer, mailoutbox, django_capture_on_commit_callbacks, redis_client, digest_queue
):
    flag_high(make_held, django_capture_on_commit_callbacks, 1)
    send_review_digest.apply()
    assert not redis_client.exists(digest_marker_key())
    redis_client.delete(digest_queue)
    later = flag_high(make_held, django_capture_on_commit_callbacks, 2)
    assert len(queued_headers(redis_client, digest_queue)) == 1
    send_review_digest.apply()
    assert len(mailoutbox) == 2 and mailoutbox[1].body.count("/inspect/") == 1
    assert f"/inspect/{later.pk}/" in mailoutbox[1].body


def test_normal_priority_items_send_no_mail(
    make_held, reviewer, mailoutbox, django_capture_on_commit_callbacks, redis_client, digest_queue
):
    with django_capture_on_commit_callbacks(execute=True):
        make_held(reasons=[rules.WEAK_GROUNDING])
    assert queued_headers(redis_client, digest_queue) == []
    send_review_digest.apply()
    assert mailoutbox == []


def test_items_pending_too_long_are_escalated_once_raised_to_high_and_mailed(
    make_held, reviewer, mailoutbox, settings
):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "REVIEW": {**settings.AI_CORE["REVIEW"], "ESCALATE_AFTER_MINUTES": 60},
    }
    stale, fresh, decided = make_held(), make_held(), make_held()
    two_hours_ago = timezone.now() - timedelta(hours=2)
    ReviewItem.objects.filter(pk__in=[stale.pk, decided.pk]).update(created_at=two_hours_ago)
    from review.services import review_item_approve

    review_item_approve(item=decided, user=reviewer)

    assert escalate_stale_reviews.apply().get() == 1
    stale.refresh_from_db()
    assert stale.escalated_at is not None and stale.priority == ReviewItem.Priority.HIGH
    assert ReviewItem.objects.get(pk=fresh.pk).escalated_at is None
    (mail,) = mailoutbox
    assert "escalated" in mail.subject and f"/inspect/{stale.pk}/" in mail.body

    assert escalate_stale_reviews.apply().get() == 0  # once only
    send_review_digest.apply()  # now high priority, but already mailed about
    assert len(mailoutbox) == 1


def test_the_escalation_task_is_on_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["review-escalate-stale"]
    assert entry["task"] == escalate_stale_reviews.name
