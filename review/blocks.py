"""The text of a page's blocks in a revision, and which cited blocks a revision changes.

Shared by the "source changed" items (``review.impact``, after a publish) and the "Legal sign-off
on AI impact" workflow task (``review.workflow``, before one). No model of this app is imported
here, so the task's model module can use it without an import cycle. The block texts come from the
content app through the ``ai_page_block_texts`` Wagtail hook: only it knows how a page's blocks
become text, and neither app imports the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from wagtail import hooks

from ai_core.answers.api import ApprovedAnswer, approved_answers_citing_page

BLOCK_TEXTS_HOOK = "ai_page_block_texts"


@dataclass(kw_only=True)
class BlockChange:
    block_id: str
    label: str
    old: str
    new: str


def page_block_texts(*, page_id: int | None, revision_id: int | None) -> dict | None:
    """Block id → ``BlockText`` (``text``, ``label``) of a page revision, from the content app's
    hook; ``None`` when no app can tell."""
    if page_id is None:
        return None
    for fn in hooks.get_hooks(BLOCK_TEXTS_HOOK):
        blocks = fn(page_id=page_id, revision_id=revision_id)
        if blocks is not None:
            return blocks
    return None


def block_changes(block_ids: Iterable[str], old_blocks: dict, new_blocks: dict) -> list[BlockChange]:
    changes = []
    for block_id in dict.fromkeys(block_ids):
        before, after = old_blocks.get(block_id), new_blocks.get(block_id)
        old_text = before.text if before else ""
        new_text = after.text if after else ""
        if old_text != new_text:
            label = (after or before).label if (after or before) else "Block"
            changes.append(
                BlockChange(
                    block_id=block_id,
                    label=label if after else f"{label} (removed from the page)",
                    old=old_text,
                    new=new_text,
                )
            )
    return changes


# --- A revision's impact before it is published (the "Legal sign-off on AI impact" task)


@dataclass(kw_only=True)
class RevisionImpact:
    """What publishing a revision would change under active approved answers."""

    # The cited blocks whose text the revision changes (or removes), with old and new text.
    blocks: list[BlockChange] = field(default_factory=list)
    # The active approved answers citing any of them.
    answers: list[ApprovedAnswer] = field(default_factory=list)
    # True when the revision could not be read (fail closed: hold it for a reviewer).
    unknown: bool = False

    @property
    def holds(self) -> bool:
        return self.unknown or bool(self.answers)


def revision_impact(*, page_id: int, revision_id: int) -> RevisionImpact:
    """Compare the blocks active approved answers cite, as they read on the live page and in
    ``revision_id``. A page nothing cites (or that is not live: only live pages are indexed, so
    nothing can cite it) has no impact; a cited block missing from the revision counts as changed."""
    answers = list(approved_answers_citing_page(page_id=page_id))
    cited: dict[str, list[ApprovedAnswer]] = {}
    for answer in answers:
        for source in answer.sources or []:
            if source.get("page_id") == page_id:
                for block_id in source.get("block_ids") or []:
                    if block_id:
                        cited.setdefault(block_id, []).append(answer)
    if not cited:
        return RevisionImpact()
    live = page_block_texts(page_id=page_id, revision_id=None)
    proposed = page_block_texts(page_id=page_id, revision_id=revision_id)
    if live is None or proposed is None:
        return RevisionImpact(unknown=True, answers=answers)
    changes = block_changes(cited, live, proposed)
    affected = {a.pk: a for change in changes for a in cited[change.block_id]}
    return RevisionImpact(blocks=changes, answers=sorted(affected.values(), key=lambda a: a.pk))
