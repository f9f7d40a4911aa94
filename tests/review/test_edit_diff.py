"""Approve with edits: the reviewer sees what they changed before deciding, and the item keeps it."""

import pytest

from review.models import ReviewItem

from .conftest import admin_url

pytestmark = pytest.mark.django_db

MODEL_TEXT = "Refunds within 14 days [1]. <script>alert('model')</script> Ask us."


def test_preview_shows_the_diff_and_decides_nothing(client, reviewer, make_held):
    item = make_held(MODEL_TEXT)
    client.force_login(reviewer)
    response = client.post(
        admin_url("approve_with_edits", item),
        {"edited_text": "Refunds within 30 days [1]. Ask us.", "note": "", "preview": "1"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "data-review-edit-preview" in page
    assert '<del class="review-diff__del">14</del><ins class="review-diff__ins">30</ins>' in page
    # The model's script is shown as text inside a deletion, never as a tag.
    assert "<script>alert(&#x27;model&#x27;)" not in page and "<script>alert('model')" not in page
    assert "&lt;script&gt;alert(&#x27;model&#x27;)&lt;/script&gt;" in page
    # The edited text is kept in the form for the real submission.
    assert "Refunds within 30 days [1]. Ask us.</textarea>" in page
    assert ReviewItem.objects.get(pk=item.pk).is_pending


def test_preview_of_an_unchanged_text_says_so(client, reviewer, make_held):
    item = make_held(MODEL_TEXT)
    client.force_login(reviewer)
    page = client.post(
        admin_url("approve_with_edits", item), {"edited_text": MODEL_TEXT, "note": "", "preview": "1"}
    ).content.decode()
    assert "The text is unchanged" in page and "review-diff__ins" not in page


def test_preview_of_an_empty_edit_shows_the_form_error(client, reviewer, make_held):
    item = make_held(MODEL_TEXT)
    client.force_login(reviewer)
    page = client.post(
        admin_url("approve_with_edits", item), {"edited_text": " ", "note": "", "preview": "1"}
    ).content.decode()
    assert "This field is required" in page and "data-review-edit-preview" not in page


def test_an_editor_cannot_preview(client, editor, make_held):
    item = make_held(MODEL_TEXT)
    client.force_login(editor)
    response = client.post(
        admin_url("approve_with_edits", item), {"edited_text": "x", "note": "", "preview": "1"}
    )
    assert response.status_code == 403


def test_the_decided_edit_is_shown_as_a_diff_on_the_item_and_in_its_history(client, reviewer, make_held):
    item = make_held(MODEL_TEXT)
    client.force_login(reviewer)
    client.post(
        admin_url("approve_with_edits", item),
        {"edited_text": "Refunds within 30 days [1]. Ask us.", "note": "Wrong period."},
    )
    assert ReviewItem.objects.get(pk=item.pk).status == ReviewItem.Status.APPROVED_WITH_EDITS
    page = client.get(admin_url("inspect", item)).content.decode()
    assert "data-review-edit-diff" in page and "data-review-history-diff" in page
    assert page.count('<ins class="review-diff__ins">30</ins>') == 2  # on the item and in the history
    assert "<script>alert(" not in page
    # The audit entry says how much changed, in Wagtail's own history view too.
    assert "Approved with edits (1 word(s) added, 5 removed): Wrong period." in page
    history = client.get(admin_url("history", item)).content.decode()
    assert "Approved with edits (1 word(s) added, 5 removed)" in history


def test_a_plain_approval_shows_no_diff(client, reviewer, make_held):
    item = make_held(MODEL_TEXT)
    client.force_login(reviewer)
    client.post(admin_url("approve", item), {"note": ""})
    page = client.get(admin_url("inspect", item)).content.decode()
    assert "data-review-edit-diff" not in page and "review-diff__" not in page


def test_the_live_preview_gets_the_diff_alone_and_a_400_for_an_empty_edit(client, reviewer, make_held):
    item = make_held(MODEL_TEXT)
    client.force_login(reviewer)
    url = admin_url("approve_with_edits", item)
    response = client.post(
        url,
        {"edited_text": "Refunds within 30 days [1]. <b>Ask</b> us.", "note": "", "preview": "1"},
        headers={"X-Review-Preview": "fragment"},
    )
    fragment = response.content.decode()
    assert response.status_code == 200 and fragment.lstrip().startswith("<section")
    assert "<html" not in fragment and "<textarea" not in fragment
    assert '<ins class="review-diff__ins">30</ins>' in fragment and "<b>" not in fragment
    empty = client.post(
        url, {"edited_text": "", "note": "", "preview": "1"}, headers={"X-Review-Preview": "fragment"}
    )
    assert empty.status_code == 400
    assert ReviewItem.objects.get(pk=item.pk).is_pending


def test_the_form_loads_the_live_preview_script(client, reviewer, make_held):
    item = make_held(MODEL_TEXT)
    client.force_login(reviewer)
    page = client.get(admin_url("approve_with_edits", item)).content.decode()
    assert "review/js/edit-preview.js" in page and "data-review-live-preview" in page
    assert "edit-preview.js" not in client.get(admin_url("approve", item)).content.decode()
