"""Assigning items: who can, to whom, how the queue filters by it, and where the mail goes."""

import pytest
from django.contrib.auth import get_user_model
from wagtail.models import ModelLogEntry

from review import rules
from review.models import ReviewItem
from review.tasks import send_review_digest

from .conftest import admin_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(legal_reviewers):
    user = get_user_model().objects.create_user(
        "carl", "carl@example.com", "pw-carl-12345", first_name="Carl", last_name="Jansen"
    )
    user.groups.add(legal_reviewers)
    return user


def listed_ids(response) -> set[int]:
    """Items on the queue page, by their inspect links."""
    import re

    return {
        int(pk) for pk in re.findall(r"/admin/review/reviewitem/inspect/(\d+)/", response.content.decode())
    }


def test_a_reviewer_assigns_an_item_to_themselves_from_the_inspect_page(client, reviewer, make_held):
    item = make_held()
    client.force_login(reviewer)
    page = client.get(admin_url("inspect", item)).content.decode()
    assert f'action="{admin_url("assign", item)}"' in page and "Assign to me" in page
    response = client.post(admin_url("assign", item), {"assignee": "me"})
    assert response.status_code == 302 and response["Location"] == admin_url("inspect", item)
    item.refresh_from_db()
    assert item.assignee == reviewer and item.assigned_at is not None
    entry = ModelLogEntry.objects.filter(object_id=str(item.pk), action="review.assign").get()
    assert entry.user == reviewer
    page = client.get(admin_url("inspect", item)).content.decode()
    assert f'data-review-assignee="{reviewer.pk}"' in page and "Assigned to lena" in page


def test_a_reviewer_assigns_to_a_named_colleague_and_can_unassign(
    client, reviewer, colleague, make_held, mailoutbox, django_capture_on_commit_callbacks
):
    item = make_held()
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(admin_url("assign", item), {"assignee": str(colleague.pk)})
    assert ReviewItem.objects.get(pk=item.pk).assignee == colleague
    (mail,) = mailoutbox  # the colleague is told; nobody else
    assert mail.to == ["carl@example.com"] and "assigned to you" in mail.subject
    assert f"/admin/review/reviewitem/inspect/{item.pk}/" in mail.body

    client.post(admin_url("assign", item), {"assignee": ""})
    assert ReviewItem.objects.get(pk=item.pk).assignee is None
    assert "Unassigned (was Carl Jansen)" in client.get(admin_url("inspect", item)).content.decode()


def test_assigning_to_oneself_sends_no_mail(
    client, reviewer, make_held, mailoutbox, django_capture_on_commit_callbacks
):
    item = make_held()
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(admin_url("assign", item), {"assignee": "me"})
    assert mailoutbox == []


def test_an_editor_or_a_visitor_cannot_assign(client, editor, visitor, reviewer, make_held):
    item = make_held()
    client.force_login(editor)
    assert client.post(admin_url("assign", item), {"assignee": "me"}).status_code == 403
    # An editor sees the queue but no assignment form.
    assert 'data-review-action="assign"' not in client.get(admin_url("inspect", item)).content.decode()
    client.force_login(visitor)
    response = client.post(admin_url("assign", item), {"assignee": str(reviewer.pk)})
    assert response.status_code in (302, 403) and "/admin/login/" in response.get("Location", "/admin/login/")
    assert ReviewItem.objects.get(pk=item.pk).assignee is None


def test_assigning_to_someone_who_is_not_a_reviewer_is_refused_with_a_400(
    client, reviewer, editor, make_held
):
    item = make_held()
    client.force_login(reviewer)
    response = client.post(admin_url("assign", item), {"assignee": str(editor.pk)})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    response = client.post(admin_url("assign", item), {"assignee": "nobody"})
    assert response.status_code == 400
    assert ReviewItem.objects.get(pk=item.pk).assignee is None


def test_an_unknown_item_is_a_404_and_a_decided_one_is_not_assigned(client, reviewer, make_held):
    item = make_held()
    client.force_login(reviewer)
    assert client.post("/admin/review/reviewitem/assign/999999/", {"assignee": "me"}).status_code == 404
    client.post(admin_url("approve", item), {"note": ""})
    response = client.post(admin_url("assign", item), {"assignee": "me"}, follow=True)
    assert "only pending items are assigned" in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).assignee is None


def test_assignment_needs_the_csrf_token(reviewer, make_held):
    from django.test import Client

    item = make_held()
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    assert client.post(admin_url("assign", item), {"assignee": "me"}).status_code == 403
    assert ReviewItem.objects.get(pk=item.pk).assignee is None


def test_the_queue_filters_by_assignee(client, reviewer, colleague, make_held):
    mine, theirs, nobodys = make_held(), make_held(), make_held()
    ReviewItem.objects.filter(pk=mine.pk).update(assignee=reviewer)
    ReviewItem.objects.filter(pk=theirs.pk).update(assignee=colleague)
    client.force_login(reviewer)
    index = admin_url("index")
    everything = client.get(index)
    assert listed_ids(everything) == {mine.pk, theirs.pk, nobodys.pk}
    assert "Carl Jansen" in everything.content.decode()  # the Assignee column
    assert listed_ids(client.get(index, {"assignee": "me"})) == {mine.pk}
    assert listed_ids(client.get(index, {"assignee": "none"})) == {nobodys.pk}
    assert listed_ids(client.get(index, {"assignee": str(colleague.pk)})) == {theirs.pk}
    assert client.get(index, {"assignee": "everyone"}).status_code == 400


def test_a_high_priority_digest_goes_to_the_assignee_and_unassigned_items_to_everyone(
    reviewer, colleague, make_held, mailoutbox
):
    assigned = make_held("Write to a@example.org.", reasons=[rules.PERSONAL_DATA])
    unassigned = make_held("Write to b@example.org.", reasons=[rules.PERSONAL_DATA])
    ReviewItem.objects.filter(pk=assigned.pk).update(assignee=colleague)
    assert send_review_digest.apply().get() == 2
    by_recipients = {tuple(mail.to): mail.body for mail in mailoutbox}
    assert set(by_recipients) == {("carl@example.com",), ("carl@example.com", "lena@example.com")}
    assert f"/inspect/{assigned.pk}/" in by_recipients[("carl@example.com",)]
    assert f"/inspect/{assigned.pk}/" not in by_recipients[("carl@example.com", "lena@example.com")]
    assert f"/inspect/{unassigned.pk}/" in by_recipients[("carl@example.com", "lena@example.com")]


def test_an_item_assigned_to_someone_who_left_the_reviewers_goes_to_everyone(
    reviewer, colleague, legal_reviewers, make_held, mailoutbox
):
    item = make_held("Write to a@example.org.", reasons=[rules.PERSONAL_DATA])
    ReviewItem.objects.filter(pk=item.pk).update(assignee=colleague)
    colleague.groups.remove(legal_reviewers)
    send_review_digest.apply()
    (mail,) = mailoutbox
    assert mail.to == ["lena@example.com"] and f"/inspect/{item.pk}/" in mail.body


def test_a_reviewers_name_is_shown_as_text_in_the_queue_and_on_the_item(
    client, reviewer, legal_reviewers, make_held
):
    mallory = get_user_model().objects.create_user(
        "mallory", "m@example.com", "pw-mallory-123", first_name="<script>alert(1)</script>"
    )
    mallory.groups.add(legal_reviewers)
    item = make_held()
    client.force_login(reviewer)
    client.post(admin_url("assign", item), {"assignee": str(mallory.pk)})
    for page in (client.get(admin_url("index")), client.get(admin_url("inspect", item))):
        html = page.content.decode()
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_dashboard_panel_counts_the_pending_items_assigned_to_me(client, reviewer, colleague, make_held):
    mine, theirs, decided = make_held(), make_held(), make_held()
    ReviewItem.objects.filter(pk__in=[mine.pk, decided.pk]).update(assignee=reviewer)
    ReviewItem.objects.filter(pk=theirs.pk).update(assignee=colleague)
    ReviewItem.objects.filter(pk=decided.pk).update(status=ReviewItem.Status.APPROVED)
    client.force_login(reviewer)
    dashboard = client.get("/admin/").content.decode()
    assert "1 assigned to you" in dashboard and "assignee=me" in dashboard
    client.force_login(colleague)
    assert "1 assigned to you" in client.get("/admin/").content.decode()
    ReviewItem.objects.filter(pk=theirs.pk).update(assignee=None)
    assert "data-review-assigned-to-me" not in client.get("/admin/").content.decode()


def test_several_items_are_assigned_from_the_queue_with_one_mail(
    client, reviewer, colleague, make_held, mailoutbox, django_capture_on_commit_callbacks
):
    first, second, decided = make_held(), make_held(), make_held()
    client.force_login(reviewer)
    queue = client.get(admin_url("index")).content.decode()
    assert f'formaction="{admin_url("bulk_assign")}"' in queue
    confirm = client.get(admin_url("bulk_assign"), {"id": [first.pk, second.pk]})
    assert confirm.status_code == 200 and "Assign 2 items" in confirm.content.decode()
    client.post(admin_url("approve", decided), {"note": ""})  # decided by then: skipped
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url("bulk_assign"), {"id": [first.pk, second.pk, decided.pk], "assignee": str(colleague.pk)}
        )
    assert response.status_code == 400  # a decided item is not a valid choice
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url("bulk_assign"),
            {"id": [first.pk, second.pk], "assignee": str(colleague.pk)},
            follow=True,
        )
    assert "2 item(s) assigned to Carl Jansen." in response.content.decode()
    assert set(ReviewItem.objects.filter(assignee=colleague).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    (mail,) = mailoutbox
    assert (
        mail.to == ["carl@example.com"] and "2 AI output(s) awaiting review assigned to you" in mail.subject
    )
    assert f"/inspect/{first.pk}/" in mail.body and f"/inspect/{second.pk}/" in mail.body


def test_bulk_assignment_is_for_reviewers_only_and_needs_a_selection(client, reviewer, editor, make_held):
    item = make_held()
    client.force_login(editor)
    assert client.get(admin_url("bulk_assign"), {"id": [item.pk]}).status_code == 403
    assert client.post(admin_url("bulk_assign"), {"id": [item.pk], "assignee": "me"}).status_code == 403
    client.force_login(reviewer)
    nothing = client.get(admin_url("bulk_assign"), follow=True)
    assert "Select at least one pending item, then Assign." in nothing.content.decode()
    assert client.post(admin_url("bulk_assign"), {"assignee": "me"}).status_code == 400
    assert ReviewItem.objects.get(pk=item.pk).assignee is None


def test_a_service_caller_cannot_bulk_assign_to_a_non_reviewer(reviewer, editor, make_held):
    from review.assignment import ReviewAssignmentError, review_items_assign_bulk

    item = make_held()
    with pytest.raises(ReviewAssignmentError, match="is not a legal reviewer"):
        review_items_assign_bulk(item_ids=[item.pk], assignee=editor, user=reviewer)
    assert ReviewItem.objects.get(pk=item.pk).assignee is None
