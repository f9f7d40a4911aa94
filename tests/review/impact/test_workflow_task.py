"""The "Legal sign-off on AI impact" workflow task: it holds a publish for a legal reviewer when the
revision changes a block approved answers cite, and passes at once otherwise."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from wagtail.models import (
    GroupApprovalTask,
    GroupPagePermission,
    Site,
    TaskState,
    Workflow,
    WorkflowPage,
    WorkflowState,
    WorkflowTask,
)

from ai_core.answers.api import ApprovedAnswer
from ai_core.rag.models import KnowledgeChunk
from review.models import AIImpactSignoffTask, ReviewItem
from review.services import review_item_approve
from review.workflow import PASSED_COMMENT

pytestmark = pytest.mark.django_db

REFUND = "Refunds are paid back to the original card within 30 days of the return arriving."
SALE = "Items bought in the seasonal sale can be exchanged but are not refunded."
ITEMS = [("h2", "Refunds"), ("p", REFUND), ("h2", "Sales"), ("p", SALE)]


@pytest.fixture
def page(section, publish, fake_embedder):
    return publish(section, title="Refund terms", slug="refunds", items=ITEMS)


@pytest.fixture
def workflow(page, legal_reviewers):
    """As an administrator sets it up: the task on the page's workflow, signed off by the Legal
    reviewers group, which (as the last step of the workflow publishes) may publish these pages."""
    for codename in ("change_page", "publish_page"):
        GroupPagePermission.objects.create(
            group=legal_reviewers,
            page=page.get_parent(),
            permission=Permission.objects.get(codename=codename),
        )
    task = AIImpactSignoffTask.objects.create(name="Legal sign-off on AI impact")
    task.groups.set([legal_reviewers])
    workflow = Workflow.objects.create(name="AI impact")
    WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    WorkflowPage.objects.create(workflow=workflow, page=page)
    return workflow


@pytest.fixture
def approved(page, reviewer, make_held):
    chunk = next(c for c in KnowledgeChunk.objects.filter(page_id=page.pk) if "30 days" in c.text)
    item = make_held(
        "Refunds take 30 days [1].",
        citations=[
            {"number": 1, "chunk_id": str(chunk.pk), "title": "Refund terms", "url": chunk.anchor_url}
        ],
        cited_chunk_ids=[str(chunk.pk)],
        site_id=Site.objects.get(is_default_site=True).pk,
        locale="en",
    )
    review_item_approve(item=item, user=reviewer)
    return ApprovedAnswer.objects.get(source_request=item.ai_request)


def submit(page, editor, *, needle: str, text: str, django_capture_on_commit_callbacks) -> WorkflowState:
    """The editor changes one paragraph (same blocks, same ids) and submits it to the workflow."""
    page = page.specific
    raw = list(page.body.raw_data)
    index = next(i for i, b in enumerate(raw) if needle in str(b["value"]))
    raw[index] = {**raw[index], "value": f"<p>{text}</p>"}
    page.body = raw
    with django_capture_on_commit_callbacks(execute=True):
        page.save_revision(user=editor)
        state = page.get_workflow().start(page, editor)
    state.refresh_from_db()
    return state


def test_a_revision_changing_a_cited_block_waits_for_a_legal_reviewer(
    client, page, editor, reviewer, approved, workflow, django_capture_on_commit_callbacks
):
    live_revision = page.live_revision_id
    state = submit(
        page, editor, needle="30 days", text=REFUND.replace("30", "14"),
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    task_state = state.current_task_state
    assert task_state.status == TaskState.STATUS_IN_PROGRESS
    page.refresh_from_db()
    assert page.live_revision_id == live_revision  # not published
    approved.refresh_from_db()
    assert approved.is_active  # still served: the live page has not changed

    # The editor who submitted may not sign off; a legal reviewer may.
    assert AIImpactSignoffTask.objects.get().get_actions(page, editor) == []
    client.force_login(reviewer)
    url = f"/admin/pages/workflow/action/{page.pk}/approve/{task_state.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"comment": "Checked with the refunds team."})
    assert response.status_code == 302 and response["Location"] == f"/admin/pages/{page.pk}/edit/"
    task_state.refresh_from_db()
    assert task_state.status == TaskState.STATUS_APPROVED and task_state.finished_by == reviewer
    page.refresh_from_db()
    assert page.live_revision_id != live_revision
    # Published and indexed: the answer citing the changed block went back to the queue.
    approved.refresh_from_db()
    assert approved.retired_reason == ApprovedAnswer.RetireReason.SOURCE_CHANGED
    assert ReviewItem.objects.filter(kind=ReviewItem.Kind.SOURCE_CHANGED, approved_answer=approved).exists()


def test_a_revision_changing_no_cited_block_passes_at_once(
    page, editor, approved, workflow, django_capture_on_commit_callbacks
):
    live_revision = page.live_revision_id
    state = submit(
        page, editor, needle="seasonal sale", text="Sale items can only be exchanged.",
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert state.status == WorkflowState.STATUS_APPROVED
    (task_state,) = TaskState.objects.filter(workflow_state=state)
    assert task_state.status == TaskState.STATUS_APPROVED and task_state.comment == PASSED_COMMENT
    page.refresh_from_db()
    assert page.live_revision_id != live_revision
    approved.refresh_from_db()
    assert approved.is_active


def test_a_page_no_approved_answer_cites_passes_at_once(
    page, editor, workflow, django_capture_on_commit_callbacks
):
    state = submit(
        page, editor, needle="30 days", text="Refunds take a while.",
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert state.status == WorkflowState.STATUS_APPROVED


def test_a_reviewer_can_request_changes(
    client, page, editor, reviewer, approved, workflow, django_capture_on_commit_callbacks
):
    state = submit(
        page, editor, needle="30 days", text=REFUND.replace("30", "14"),
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )  # fmt: skip
    client.force_login(reviewer)
    url = f"/admin/pages/workflow/action/{page.pk}/reject/{state.current_task_state.pk}/"
    client.post(url, {"comment": "The refund period is set by contract."})
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_NEEDS_CHANGES
    approved.refresh_from_db()
    assert approved.is_active


def test_an_administrator_can_add_the_task_type_in_the_admin(client, admin_user, legal_reviewers):
    client.force_login(admin_user)
    html = client.get("/admin/workflows/tasks/select_type/").content.decode()
    assert "Legal sign-off on AI impact" in html
    response = client.post(
        "/admin/workflows/tasks/add/review/aiimpactsignofftask/",
        {"name": "Legal sign-off", "groups": [legal_reviewers.pk]},
    )
    assert response.status_code == 302, response.content[:800]
    task = AIImpactSignoffTask.objects.get(name="Legal sign-off")
    assert list(task.groups.all()) == [legal_reviewers]


def test_passing_at_once_hands_over_to_the_next_task(
    page, editor, approved, workflow, django_capture_on_commit_callbacks
):
    moderators = GroupApprovalTask.objects.create(name="Moderators approval")
    moderators.groups.set([Group.objects.get(name="Moderators")])
    WorkflowTask.objects.create(workflow=workflow, task=moderators, sort_order=1)
    live_revision = page.live_revision_id
    state = submit(
        page, editor, needle="seasonal sale", text="Sale items can only be exchanged.",
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert state.current_task_state.task.specific == moderators
    assert state.current_task_state.status == TaskState.STATUS_IN_PROGRESS
    statuses = dict(TaskState.objects.filter(workflow_state=state).values_list("task__name", "status"))
    assert statuses == {"Legal sign-off on AI impact": "approved", "Moderators approval": "in_progress"}
    page.refresh_from_db()
    assert page.live_revision_id == live_revision


def test_the_sign_off_dialog_shows_what_the_revision_changes(
    client, page, editor, reviewer, approved, workflow, django_capture_on_commit_callbacks
):
    state = submit(
        page, editor, needle="30 days", text=REFUND.replace("30", "14"),
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )  # fmt: skip
    client.force_login(reviewer)
    url = f"/admin/pages/workflow/action/{page.pk}/approve/{state.current_task_state.pk}/"
    response = client.get(url, headers={"x-requested-with": "XMLHttpRequest"})
    assert response.status_code == 200
    html = response.json()["html"]
    assert "AI impact of this revision" in html
    assert "takes 1 approved answer out of use" in html and approved.question in html
    assert '<del class="review-diff__del">30</del><ins class="review-diff__ins">14</ins>' in html
    # The editor may not open it at all.
    client.force_login(editor)
    assert client.get(url).status_code in (302, 403)


def test_a_revision_that_cannot_be_read_is_held(page, approved):
    from review.blocks import revision_impact

    impact = revision_impact(page_id=page.pk, revision_id=987654321)
    assert impact.unknown and impact.holds
    assert revision_impact(page_id=page.pk, revision_id=page.live_revision_id).holds is False
