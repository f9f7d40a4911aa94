"""``sync_prompts`` and ``export_prompts``: YAML and snippets stay in step, admin edits are never lost."""

from __future__ import annotations

import dataclasses
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ai_core.models import PromptEvalRun, PromptTemplate
from ai_core.models.prompts import spec_fingerprint
from ai_core.prompts.loader import load_prompt_dir, load_prompt_file
from ai_core.prompts.registry import get_prompt
from ai_core.services.prompt_sync import prompts_sync

from .conftest import write_prompt

pytestmark = pytest.mark.django_db


def sync(directory: Path, *args: str) -> str:
    out = StringIO()
    call_command("sync_prompts", "--dir", str(directory), *args, stdout=out)
    return out.getvalue()


def edit_in_admin(key: str, user, **changes) -> PromptTemplate:
    """What the admin does: a new revision by ``user``, published after its golden run passed."""
    row = PromptTemplate.objects.get(key=key)
    draft = row.get_latest_revision_as_object()
    for name, value in changes.items():
        setattr(draft, name, value)
    draft.full_clean()
    revision = draft.save_revision(user=user)
    PromptEvalRun.objects.create(
        prompt=row,
        revision=revision,
        version=draft.version,
        fingerprint=spec_fingerprint(draft.to_spec()),
        status=PromptEvalRun.Status.PASSED,
    )
    revision.publish(user=user)
    return PromptTemplate.objects.get(key=key)


def test_sync_creates_and_publishes_every_missing_prompt(prompts_dir: Path) -> None:
    output = sync(prompts_dir)
    specs = load_prompt_dir(prompts_dir)
    assert sorted(PromptTemplate.objects.filter(live=True).values_list("key", flat=True)) == sorted(specs)
    for key, spec in specs.items():
        assert PromptTemplate.objects.get(key=key).to_spec() == spec
        assert f"{key}" in output and "create" in output


def test_sync_twice_changes_nothing(prompts_dir: Path) -> None:
    sync(prompts_dir)
    revisions = {row.key: row.revisions.count() for row in PromptTemplate.objects.all()}
    output = sync(prompts_dir)
    assert output.count("unchanged") == len(revisions)
    assert {row.key: row.revisions.count() for row in PromptTemplate.objects.all()} == revisions


def test_a_newer_yaml_version_is_published(prompts_dir: Path) -> None:
    sync(prompts_dir)
    spec = load_prompt_file(prompts_dir / "rag_answer.yaml")
    write_prompt(prompts_dir, dataclasses.replace(spec, version=spec.version + 1, description="From YAML."))
    output = sync(prompts_dir)
    assert "rag_answer" in output and "publish" in output
    live = PromptTemplate.objects.get(key="rag_answer")
    assert (live.version, live.description) == (spec.version + 1, "From YAML.")
    assert get_prompt("rag_answer").description == "From YAML."


def test_sync_refuses_to_overwrite_an_admin_edit_and_changes_nothing(prompts_dir: Path, admin_user) -> None:
    sync(prompts_dir)
    edited = edit_in_admin("rag_answer", admin_user, system="Edited in the admin.")
    yaml_spec = load_prompt_file(prompts_dir / "rag_answer.yaml")
    assert edited.version == yaml_spec.version + 1
    # Meanwhile an engineer changes a different prompt in YAML: it must not be half-applied.
    summary = load_prompt_file(prompts_dir / "page_summary.yaml")
    write_prompt(prompts_dir, dataclasses.replace(summary, version=summary.version + 1, description="New."))

    with pytest.raises(CommandError) as excinfo:
        sync(prompts_dir)
    message = str(excinfo.value)
    assert "refusing to sync" in message and "rag_answer" in message and "--force" in message
    assert PromptTemplate.objects.get(key="rag_answer").system == "Edited in the admin."
    assert PromptTemplate.objects.get(key="page_summary").version == summary.version


def test_the_refusal_explains_who_edited_what(prompts_dir: Path, admin_user) -> None:
    sync(prompts_dir)
    edit_in_admin("rag_answer", admin_user, system="Edited in the admin.")
    (item,) = [item for item in prompts_sync(directory=prompts_dir) if item.action == "conflict"]
    assert item.key == "rag_answer"
    assert f"edited in the admin by {admin_user.get_username()}" in item.message
    assert "export_prompts" in item.message


def test_force_overwrites_the_admin_edit_under_a_new_version(prompts_dir: Path, admin_user) -> None:
    sync(prompts_dir)
    edited = edit_in_admin("rag_answer", admin_user, system="Edited in the admin.")
    output = sync(prompts_dir, "--force")
    live = PromptTemplate.objects.get(key="rag_answer")
    yaml_spec = load_prompt_file(prompts_dir / "rag_answer.yaml")
    assert live.system == yaml_spec.system
    assert live.version == edited.version + 1  # a version label is never reused for other content
    assert "force" in output
    assert sync(prompts_dir).count("unchanged") == 4  # and the next sync is calm again


def test_a_yaml_change_without_a_version_bump_is_refused(prompts_dir: Path) -> None:
    sync(prompts_dir)
    spec = load_prompt_file(prompts_dir / "content_classify.yaml")
    write_prompt(prompts_dir, dataclasses.replace(spec, description="Changed, same version."))
    with pytest.raises(CommandError, match="content_classify"):
        sync(prompts_dir)
    (item,) = [item for item in prompts_sync(directory=prompts_dir) if item.action == "conflict"]
    assert "Bump the version" in item.message


def test_dry_run_writes_nothing(prompts_dir: Path) -> None:
    output = sync(prompts_dir, "--dry-run")
    assert "dry run" in output
    assert not PromptTemplate.objects.exists()


def test_sync_export_sync_is_a_no_op(prompts_dir: Path) -> None:
    sync(prompts_dir)
    before = {path.name: path.read_text() for path in prompts_dir.glob("*.yaml")}
    out = StringIO()
    call_command("export_prompts", "--dir", str(prompts_dir), stdout=out)
    assert "0 of 4 file(s) changed" in out.getvalue()  # the shipped files are in export layout
    assert {path.name: path.read_text() for path in prompts_dir.glob("*.yaml")} == before
    assert sync(prompts_dir).count("unchanged") == 4


def test_export_brings_an_admin_edit_into_yaml_and_then_sync_agrees(prompts_dir: Path, admin_user) -> None:
    sync(prompts_dir)
    edited = edit_in_admin("rag_answer", admin_user, system="Edited in the admin.\nSecond line.\n")
    call_command("export_prompts", "--dir", str(prompts_dir), stdout=StringIO())
    exported = load_prompt_file(prompts_dir / "rag_answer.yaml")
    assert exported == edited.to_spec()
    assert "Edited in the admin.\n  Second line.\n" in (prompts_dir / "rag_answer.yaml").read_text()
    assert sync(prompts_dir).count("unchanged") == 4


def test_export_of_selected_keys_only(prompts_dir: Path, tmp_path: Path) -> None:
    sync(prompts_dir)
    target = tmp_path / "out"
    call_command("export_prompts", "rag_answer", "--dir", str(target), stdout=StringIO())
    assert [path.name for path in target.iterdir()] == ["rag_answer.yaml"]


def test_the_shipped_files_are_already_in_export_layout() -> None:
    """So ``export_prompts`` after a plain sync leaves git clean (checked without a database)."""
    from ai_core import conf
    from ai_core.services.prompt_sync import prompt_yaml_dump

    for path in sorted(conf.prompts_dir().glob("*.yaml")):
        assert prompt_yaml_dump(load_prompt_file(path)) == path.read_text(), path.name
