"""Prompt snippets: drafts change nothing live, publishing does, versions never repeat, the gate holds."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from ai_core.models import PromptEvalRun, PromptTemplate
from ai_core.models.prompts import PromptGateClosed, spec_fingerprint, ungated_publish
from ai_core.prompts.registry import get_prompt

pytestmark = pytest.mark.django_db


def test_a_snippet_round_trips_its_yaml_spec(yaml_spec) -> None:
    spec = yaml_spec("contract_analysis")
    row = PromptTemplate()
    row.apply_spec(spec)
    assert row.to_spec() == spec
    assert str(row) == f"contract_analysis v{spec.version}"


def test_without_a_snippet_the_yaml_default_is_served(yaml_spec) -> None:
    assert get_prompt("rag_answer") == yaml_spec("rag_answer")


def test_the_published_snippet_wins_over_yaml(live_prompt) -> None:
    live_prompt("rag_answer", version=7, description="Edited in the admin.")
    assert get_prompt("rag_answer").version == 7
    assert get_prompt("rag_answer").description == "Edited in the admin."


def test_saving_a_draft_changes_nothing_live(live_prompt) -> None:
    row = live_prompt("rag_answer", version=3)
    draft = row.get_latest_revision_as_object()
    draft.system = "A draft nobody published."
    draft.full_clean()
    draft.save_revision()

    row.refresh_from_db()
    assert row.has_unpublished_changes
    assert get_prompt("rag_answer").system != "A draft nobody published."
    assert row.get_latest_revision_as_object().system == "A draft nobody published."


def test_each_revision_carries_its_version_label(live_prompt) -> None:
    row = live_prompt("rag_answer", version=3)
    draft = row.get_latest_revision_as_object()
    draft.user = draft.user + "\nAnswer in English."
    draft.full_clean()  # raises the version: the content differs from live v3
    draft.save_revision()
    assert [r.object_str for r in row.revisions.order_by("created_at")] == ["rag_answer v3", "rag_answer v4"]


def test_an_unchanged_draft_keeps_the_live_version_and_never_goes_below_it(live_prompt) -> None:
    row = live_prompt("rag_answer", version=5)
    draft = row.get_latest_revision_as_object()
    draft.version = 2
    draft.full_clean()
    assert draft.version == 5


def test_invalid_content_is_rejected_with_the_field_named(live_prompt) -> None:
    draft = live_prompt("rag_answer").get_latest_revision_as_object()
    draft.user = "{{ question }} {{ mood }}"
    with pytest.raises(ValidationError) as excinfo:
        draft.full_clean()
    assert "mood" in str(excinfo.value.message_dict["user"])


def test_publishing_without_a_passing_golden_run_is_refused(live_prompt) -> None:
    row = live_prompt("rag_answer", version=3)
    draft = row.get_latest_revision_as_object()
    draft.system = "Say anything."
    draft.full_clean()
    revision = draft.save_revision()
    with pytest.raises(PromptGateClosed):
        revision.publish()
    assert get_prompt("rag_answer").version == 3


def test_a_passing_run_opens_the_gate_only_for_the_exact_content_it_tested(live_prompt, admin_user) -> None:
    row = live_prompt("rag_answer", version=3)
    draft = row.get_latest_revision_as_object()
    draft.system = "Tested content."
    draft.full_clean()
    revision = draft.save_revision(user=admin_user)
    PromptEvalRun.objects.create(
        prompt=row,
        revision=revision,
        version=draft.version,
        fingerprint=spec_fingerprint(draft.to_spec()),
        status=PromptEvalRun.Status.PASSED,
    )
    # Autosave overwrites the same revision with different content: the old pass no longer counts.
    draft.system = "Untested content."
    draft.save_revision(user=admin_user, overwrite_revision=revision)
    with pytest.raises(PromptGateClosed):
        revision.publish()

    draft.system = "Tested content."
    draft.save_revision(user=admin_user, overwrite_revision=revision)
    revision.publish()
    assert get_prompt("rag_answer").system == "Tested content."


def test_unpublishing_falls_back_to_the_yaml_default(live_prompt, yaml_spec) -> None:
    row = live_prompt("rag_answer", version=9)
    row.unpublish()
    assert get_prompt("rag_answer") == yaml_spec("rag_answer")


def test_ungated_publish_is_scoped_to_its_block(live_prompt) -> None:
    row = live_prompt("rag_answer", version=3)
    draft = row.get_latest_revision_as_object()
    draft.system = "Changed."
    draft.full_clean()
    revision = draft.save_revision()
    with ungated_publish("test"):
        pass
    with pytest.raises(PromptGateClosed):
        revision.publish()
