"""The prompt snippet admin, driven through Wagtail's own views with the Django test client.

Publishing queues the golden cases (no provider call in the request); the task publishes only if
they pass. Celery runs eagerly here, once the request's transaction has committed.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from django.urls import reverse

from ai_core.models import PromptEvalRun, PromptTemplate
from ai_core.prompts.registry import get_prompt
from ai_core.prompts.spec import PromptSpec

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(PromptTemplate.snippet_viewset.get_url_name(name), args=args)


def form_data(spec: PromptSpec, **changes: Any) -> dict[str, Any]:
    data = {**spec.to_dict(), **changes}
    golden = [{k: v for k, v in case.items() if v or k == "inputs"} for case in data["golden"]]
    return {
        "key": data["key"],
        "version": data["version"],
        "description": data["description"],
        "tier": data.get("tier") or "",
        "model": data.get("model") or "",
        "max_tokens": data["max_tokens"],
        "temperature": data["temperature"],
        "task": data["task"],
        "review_policy": data["review_policy"],
        "variables": ", ".join(data["variables"]),
        "system_variables": ", ".join(data["system_variables"]),
        "labels": ", ".join(data.get("labels", [])),
        "system": data["system"],
        "user": data["user"],
        "golden": yaml.safe_dump(golden, sort_keys=False) if golden else "",
    }


FAILING_CASE = {
    "name": "mentions zebras",
    "inputs": {
        "question": "How long do I have to ask for a refund?",
        "sources": ["Refunds are possible within 30 days."],
    },
    "expect": {"contains": ["Zebra"]},
}


@pytest.fixture
def rag_live(live_prompt) -> PromptTemplate:
    return live_prompt("rag_answer", version=3)


def test_the_ai_menu_lists_dashboard_prompts_routing_and_budgets(admin_client, rag_live) -> None:
    response = admin_client.get(url("list"))
    assert response.status_code == 200
    assert b"rag_answer" in response.content
    html = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    props = json.loads(
        re.search(r'id="wagtail-sidebar-props" type="application/json">(.*?)</script>', html).group(1)
    )
    main_menu = next(m for m in props["modules"] if m["_type"] == "wagtail.sidebar.MainMenuModule")
    (ai_menu,) = [item for item in main_menu["_args"][0] if item["_args"][0]["name"] == "ai"]
    assert ai_menu["_args"][0]["label"] == "AI"
    labels = [(i["_args"][0]["label"], i["_args"][0]["url"]) for i in ai_menu["_args"][1]]
    assert labels[0] == ("Usage dashboard", reverse("ai_dashboard:index"))
    assert set(labels[1:]) == {
        ("Budget alerts", reverse("ai_budget_alerts:index")),
        ("Prompts", url("list")),
        ("Model routing", reverse("ai_routing:index")),
        ("Budgets", "/admin/ai/budgets/"),
    }
    assert len(labels) == 5


def test_the_edit_form_shows_the_golden_status_panel_and_preview(admin_client, rag_live) -> None:
    response = admin_client.get(url("edit", rag_live.pk))
    assert response.status_code == 200
    assert b"data-golden-status" in response.content
    assert b"No golden run yet" in response.content
    assert url("preview_on_edit", rag_live.pk).encode() in response.content


def test_saving_a_draft_queues_nothing_and_changes_nothing_live(admin_client, rag_live, yaml_spec) -> None:
    data = form_data(rag_live.to_spec(), system="Draft only.")
    response = admin_client.post(url("edit", rag_live.pk), data)
    assert response.status_code == 302
    assert not PromptEvalRun.objects.exists()
    assert get_prompt("rag_answer").system != "Draft only."
    rag_live.refresh_from_db()
    assert rag_live.get_latest_revision_as_object().version == 4  # changed content: next version


def test_invalid_variables_are_shown_on_the_field(admin_client, rag_live) -> None:
    data = form_data(rag_live.to_spec(), user="{{ question }} {{ mood }}")
    response = admin_client.post(url("edit", rag_live.pk), data)
    assert response.status_code == 200
    assert "mood" in str(response.context["form"].errors["user"])
    assert rag_live.revisions.count() == 1


def test_bad_golden_yaml_is_a_form_error(admin_client, rag_live) -> None:
    data = {**form_data(rag_live.to_spec()), "golden": "- name: [unclosed"}
    response = admin_client.post(url("edit", rag_live.pk), data)
    assert response.status_code == 200
    assert "Not valid YAML" in str(response.context["form"].errors["golden"])


def test_publish_with_passing_cases_goes_live_after_the_task(
    admin_client, rag_live, django_capture_on_commit_callbacks
) -> None:
    data = {**form_data(rag_live.to_spec(), description="Clearer description."), "action-publish": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("edit", rag_live.pk), data)
        # The request itself only saved a draft and queued the run.
        assert response.status_code == 302 and response.url == url("edit", rag_live.pk)
        assert PromptEvalRun.objects.get().status == PromptEvalRun.Status.PENDING
        assert PromptTemplate.objects.get(pk=rag_live.pk).version == 3
    run = PromptEvalRun.objects.get()
    assert (run.status, run.published, run.version) == (PromptEvalRun.Status.PASSED, True, 4)
    assert get_prompt("rag_answer").description == "Clearer description."
    assert get_prompt("rag_answer").version == 4

    page = admin_client.get(url("edit", rag_live.pk)).content.decode()
    assert 'data-run-status="passed"' in page and "and published" in page


def test_publish_with_a_failing_case_is_blocked_and_the_editor_sees_why(
    admin_client, rag_live, django_capture_on_commit_callbacks
) -> None:
    spec = rag_live.to_spec()
    golden = [*spec.to_dict()["golden"], FAILING_CASE]
    data = {**form_data(spec, system=spec.system + "\nMention zebras.", golden=golden), "action-publish": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("edit", rag_live.pk), data, follow=True)
    assert "queued its golden cases" in response.content.decode()

    run = PromptEvalRun.objects.get()
    assert (run.status, run.published) == (PromptEvalRun.Status.FAILED, False)
    (failed,) = run.failed_cases
    assert failed["name"] == "mentions zebras"
    assert get_prompt("rag_answer").version == 3  # nothing went live
    assert "zebras" not in get_prompt("rag_answer").system

    page = admin_client.get(url("edit", rag_live.pk)).content.decode()
    assert 'data-run-status="failed"' in page and "not published" in page
    assert 'data-case-status="fail"' in page
    assert "mentions zebras" in page  # the case
    assert "<strong>contains</strong> Zebra" in page  # the expectation
    assert "Refunds are possible within 30 days. [1]" in page  # the output


def test_a_new_prompt_created_and_published_in_the_admin_is_gated(
    admin_client, yaml_spec, django_capture_on_commit_callbacks
) -> None:
    spec = yaml_spec("content_classify")
    data = {**form_data(spec, key="ticket_classify", version=1), "action-publish": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("add"), data)
    row = PromptTemplate.objects.get(key="ticket_classify")
    assert response.status_code == 302 and response.url == url("edit", row.pk)
    assert PromptEvalRun.objects.get(prompt=row).status == PromptEvalRun.Status.PASSED
    assert get_prompt("ticket_classify").version == 1


def test_reverting_to_an_old_revision_republishes_through_the_gate(
    admin_client, rag_live, django_capture_on_commit_callbacks
) -> None:
    first_revision = rag_live.latest_revision
    data = {**form_data(rag_live.to_spec(), description="Second wording."), "action-publish": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url("edit", rag_live.pk), data)
    assert get_prompt("rag_answer").description == "Second wording."

    revert_url = url("revisions_revert", rag_live.pk, first_revision.pk)
    page = admin_client.get(revert_url)
    assert page.status_code == 200
    old = PromptTemplate.objects.get(pk=rag_live.pk).to_spec()
    data = {**form_data(old, description=first_revision.as_object().description), "action-publish": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(revert_url, data)
    live = get_prompt("rag_answer")
    assert live.description == first_revision.as_object().description
    assert live.version == 5  # v3 content again, under a new label: v3 -> v4 -> v5
    assert PromptEvalRun.objects.filter(status=PromptEvalRun.Status.PASSED).count() == 2


def test_history_and_compare_are_wagtails_own(
    admin_client, rag_live, django_capture_on_commit_callbacks
) -> None:
    data = {**form_data(rag_live.to_spec(), description="Second wording."), "action-publish": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url("edit", rag_live.pk), data)
    history = admin_client.get(url("history", rag_live.pk))
    assert history.status_code == 200
    assert b"rag_answer v4" in history.content or b"rag_answer v3" in history.content
    first, second = rag_live.revisions.order_by("created_at")[:2]
    compare = admin_client.get(url("revisions_compare", rag_live.pk, first.pk, second.pk))
    assert compare.status_code == 200
    assert b"Second wording." in compare.content


def test_the_preview_renders_the_prompt_with_golden_inputs(admin_client, rag_live) -> None:
    preview_url = url("preview_on_edit", rag_live.pk)
    state = admin_client.post(preview_url, form_data(rag_live.to_spec()))
    assert state.json() == {"is_valid": True, "is_available": True}
    page = admin_client.get(preview_url).content.decode()
    assert "rag_answer@v3" in page
    assert "&lt;question&gt;\nHow long do I have to ask for a refund?\n&lt;/question&gt;" in page
    assert "&lt;source id=&quot;1&quot;" in page  # sources rendered (and escaped for display)


def test_the_preview_reports_an_invalid_prompt(admin_client, rag_live) -> None:
    preview_url = url("preview_on_edit", rag_live.pk)
    state = admin_client.post(preview_url, form_data(rag_live.to_spec(), user="{{ nope }}"))
    assert state.json()["is_valid"] is False


def test_the_routing_table_lists_tiers_and_each_prompts_model(admin_client, rag_live) -> None:
    response = admin_client.get(reverse("ai_routing:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "claude-haiku-4-5" in page and "extractive-minilm" in page
    rows = {row["key"]: row for row in response.context["prompts"]}
    assert rows["rag_answer"]["source"] == "admin" and rows["rag_answer"]["version"] == 3
    assert rows["content_classify"]["tier"] == "small"
    assert (
        rows["contract_analysis"]["routes"][response.context["aliases"].index("anthropic")]
        == "claude-opus-4-8"
    )


def test_editors_without_publish_permission_cannot_trigger_a_run(client, rag_live, django_user_model) -> None:
    from django.contrib.auth.models import Permission

    editor = django_user_model.objects.create_user("editor", password="pw")  # noqa: S106
    editor.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="change_prompttemplate"),
    )
    client.force_login(editor)
    data = {**form_data(rag_live.to_spec(), description="Sneaky."), "action-publish": "1"}
    client.post(url("edit", rag_live.pk), data)
    assert not PromptEvalRun.objects.exists()
    assert get_prompt("rag_answer").description != "Sneaky."
