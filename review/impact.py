"""Change impact: what a publish does to approved answers, and the reviewer's "source changed" items.

When an index run rewrites a page's chunks (``ai_core.rag``'s ``chunks_replaced``, inside the run's
transaction, in the ``index_page`` Celery task after the publish committed), every active approved
answer citing a removed chunk is retired from reuse and queued again as a "source changed" item:
a request of its own holding the approved text against the passages as they read now
(``ai_core.services.ai_request_open_for_rereview``), with the old and new text of each cited
block kept on the item for the diff. Re-approving it (with edits or not) locks a new approved
answer to the new passages; rejecting it leaves the old one retired.

The text of a block in a given revision comes from the content app through the
``ai_page_block_texts`` Wagtail hook; where it cannot (a purged revision), the diff falls back to
the cited passage's text before and after.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from django.db import transaction

from ai_core.answers.api import ApprovedAnswer, approved_answer_retire
from ai_core.answers.rereview import ai_request_open_for_rereview

from . import rules
from .blocks import BlockChange, block_changes, page_block_texts
from .conf import review_settings
from .diffs import text_diff_html
from .models import ReviewItem
from .services import review_item_create, review_item_reject

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class SourceChange:
    """One cited passage of the approved answer that the publish changed."""

    number: int
    title: str
    page_id: int | None
    old_chunk_id: int
    new_chunk_id: int | None
    old_revision_id: int | None
    new_revision_id: int | None
    # The blocks whose text changed; empty when only the passage's cut, title or heading did.
    blocks: list[BlockChange] = field(default_factory=list)
    old_passage: str = ""
    new_passage: str = ""

    @classmethod
    def from_json(cls, data: dict) -> SourceChange:
        blocks = [BlockChange(**b) for b in data.get("blocks", [])]
        return cls(**{**data, "blocks": blocks})


def _successor(old, current: Sequence) -> object | None:
    """The chunk that now holds the old passage's blocks: of the chunks sharing a block with it,
    the one whose text is closest (a paragraph that grew may spill into a neighbour)."""
    blocks = {b for b in old.block_ids if b}
    candidates = [c for c in current if blocks & set(c.block_ids)]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda c: (difflib.SequenceMatcher(a=old.text, b=c.text, autojunk=False).ratio(), -c.position),
    )


class _Blocks:
    """Block texts per (page, revision), read once per index run."""

    def __init__(self) -> None:
        self._cache: dict[tuple, dict | None] = {}

    def get(self, page_id, revision_id) -> dict | None:
        key = (page_id, revision_id)
        if key not in self._cache:
            self._cache[key] = page_block_texts(page_id=page_id, revision_id=revision_id)
        return self._cache[key]


def _changes_for(
    answer: ApprovedAnswer,
    removed: dict[int, object],
    current: Sequence,
    blocks: _Blocks,
    *,
    cited_now: dict[int, int | None] | None = None,
    earlier: dict[int, SourceChange] | None = None,
) -> tuple[list[SourceChange], list[int | None]]:
    """What changed in each cited passage, and the chunk to cite for each source now.

    ``cited_now`` (source number → chunk) and ``earlier`` (source number → change) describe a
    pending "source changed" item the page has changed under again: its sources point at the
    passages of the previous publish, and the diff still starts from the text as approved."""
    changes: list[SourceChange] = []
    chunk_ids: list[int | None] = []
    new_revision = next((c.page_revision_id for c in current), None)
    for source in answer.sources or []:
        number = int(source.get("number", 0))
        chunk_id = cited_now.get(number) if cited_now is not None else int(source["chunk_id"])
        prior = (earlier or {}).get(number)
        old = removed.get(chunk_id) if chunk_id is not None else None
        if old is None:
            chunk_ids.append(chunk_id)  # unchanged (or another page's, checked when it changes)
            if prior is not None:
                changes.append(prior)  # changed by the earlier publish, not by this one
            continue
        new = _successor(old, current)
        chunk_ids.append(new.id if new else None)
        page_id = source.get("page_id")
        old_revision = prior.old_revision_id if prior else old.page_revision_id
        old_passage = prior.old_passage if prior else (source.get("text") or old.text)
        old_blocks = blocks.get(page_id, old_revision)
        new_blocks = blocks.get(page_id, new_revision)
        block_ids = [b for b in (source.get("block_ids") or old.block_ids) if b]
        if old_blocks is not None and new_blocks is not None:
            changed = block_changes(block_ids, old_blocks, new_blocks)
        else:
            changed = [
                BlockChange(
                    block_id=block_ids[0] if block_ids else "",
                    label=old.heading_path or "Cited passage",
                    old=old_passage,
                    new=new.text if new else "",
                )
            ]
        changes.append(
            SourceChange(
                number=number,
                title=source.get("title", ""),
                page_id=page_id,
                old_chunk_id=prior.old_chunk_id if prior else chunk_id,
                new_chunk_id=new.id if new else None,
                old_revision_id=old_revision,
                new_revision_id=new_revision,
                blocks=changed,
                old_passage=old_passage,
                new_passage=new.text if new else "",
            )
        )
    return changes, chunk_ids


@dataclass
class _Source:
    number: int
    text: str


def _reasons(text: str, request) -> list[str]:
    """The usual rules over the approved text and the passages as they read now: a figure the
    new text contradicts is flagged (and raises the priority) like any held output's."""
    from ai_core.rag.models import KnowledgeChunk

    ids = [int(c["chunk_id"]) for c in request.citations if str(c.get("chunk_id", "")).isdigit()]
    texts = dict(KnowledgeChunk.objects.filter(pk__in=ids).values_list("pk", "text"))
    sources = [
        _Source(number=int(c["number"]), text=texts.get(int(c["chunk_id"]), ""))
        for c in request.citations
        if str(c.get("chunk_id", "")).isdigit()
    ]
    return rules.evaluate(text=text, sources=sources, review_policy="on_flag", config=review_settings().rules)


def approved_answers_source_changed(*, removed: Sequence, current: Sequence) -> list[ReviewItem]:
    """Retire every active approved answer citing a chunk in ``removed`` and queue it as a
    "source changed" item (see the module docstring). Runs in the index run's transaction."""
    removed_by_id = {snapshot.id: snapshot for snapshot in removed}
    if not removed_by_id:
        return []
    answers = list(
        ApprovedAnswer.objects.select_for_update(of=("self",))
        .filter(status=ApprovedAnswer.Status.ACTIVE, cited_chunk_ids__overlap=list(removed_by_id))
        .select_related("source_request")
        .order_by("pk")
    )
    blocks = _Blocks()
    items = []
    for answer in answers:
        changes, chunk_ids = _changes_for(answer, removed_by_id, current, blocks)
        approved_answer_retire(answer=answer, reason=ApprovedAnswer.RetireReason.SOURCE_CHANGED)
        items.append(_queue(answer, changes, chunk_ids))
        logger.info(
            "approved answer %s retired: cited source changed; review item %s", answer.pk, items[-1].pk
        )
    items += _requeue_pending(removed_by_id, current, blocks)
    return items


def _queue(answer: ApprovedAnswer, changes: list[SourceChange], chunk_ids: list[int | None]) -> ReviewItem:
    request = ai_request_open_for_rereview(answer=answer, chunk_ids=chunk_ids)
    return review_item_create(
        ai_request=request,
        reasons=_reasons(answer.text, request),
        kind=ReviewItem.Kind.SOURCE_CHANGED,
        approved_answer=answer,
        source_changes=[asdict(change) for change in changes],
    )


def _requeue_pending(removed: dict[int, object], current: Sequence, blocks: _Blocks) -> list[ReviewItem]:
    """Pending "source changed" items whose passages this publish changed again: each is closed
    (rejected by the system, saying why) and replaced by one diffing the text as approved against
    the text as it reads now, so a reviewer never approves against a diff the page has outgrown."""
    stale = list(
        ReviewItem.objects.filter(
            kind=ReviewItem.Kind.SOURCE_CHANGED,
            status=ReviewItem.Status.PENDING,
            approved_answer__isnull=False,
            ai_request__provenance__chunk_ids__overlap=list(removed),
        )
        .select_related("ai_request", "approved_answer", "approved_answer__source_request")
        .order_by("pk")
    )
    items = []
    for item in stale:
        cited_now = {
            int(c["number"]): int(c["chunk_id"]) if str(c.get("chunk_id", "")).isdigit() else None
            for c in item.ai_request.citations
        }
        earlier = {int(c["number"]): SourceChange.from_json(c) for c in item.source_changes or []}
        changes, chunk_ids = _changes_for(
            item.approved_answer, removed, current, blocks, cited_now=cited_now, earlier=earlier
        )
        replacement = _queue(item.approved_answer, changes, chunk_ids)
        review_item_reject(
            item=item,
            user=None,
            note=f"Superseded by item #{replacement.pk}: the page changed again before a decision.",
        )
        items.append(replacement)
    return items


def on_chunks_replaced(sender, *, removed, current, **kwargs) -> None:
    """``chunks_replaced`` receiver. In a savepoint, and never raising: the index run must land
    whatever happens here (stale chunks would keep being retrieved). An answer whose passage
    changed is not served in any case (reuse checks every cited chunk's hash); the error is
    logged so the missing queue item is noticed."""
    try:
        with transaction.atomic():
            approved_answers_source_changed(removed=removed, current=current)
    except Exception:
        logger.exception("could not queue the approved answers citing changed chunks for review")


# --- Reads for the inspect screen


@dataclass(kw_only=True)
class BlockChangeView:
    label: str
    diff_html: str
    old: str
    new: str


@dataclass(kw_only=True)
class SourceChangeView:
    number: int
    title: str
    page_id: int | None
    blocks: list[BlockChangeView]
    passage_diff_html: str
    text_unchanged: bool


def review_item_source_changes(*, item: ReviewItem) -> list[SourceChangeView]:
    """Each changed source of a "source changed" item with its diffs (escaped HTML)."""
    if item.kind != ReviewItem.Kind.SOURCE_CHANGED:
        return []
    views = []
    for raw in item.source_changes or []:
        change = SourceChange.from_json(raw)
        views.append(
            SourceChangeView(
                number=change.number,
                title=change.title,
                page_id=change.page_id,
                blocks=[
                    BlockChangeView(
                        label=b.label, diff_html=text_diff_html(b.old, b.new), old=b.old, new=b.new
                    )
                    for b in change.blocks
                ],
                passage_diff_html=text_diff_html(change.old_passage, change.new_passage),
                text_unchanged=not change.blocks,
            )
        )
    return views


def dependent_admin_url(*, obj, user) -> str:
    """The review screen of an output listed in the page editor's AI tab (``ai_dependent_admin_url``
    hook): a held request's queue item, or the item an approved answer was approved in; "" when
    there is none or ``user`` may not open it."""
    from wagtail.admin.admin_url_finder import AdminURLFinder

    from ai_core.models import AIRequest

    if isinstance(obj, AIRequest):
        request_id = obj.pk
    elif isinstance(obj, ApprovedAnswer):
        request_id = obj.source_request_id
    else:
        return ""
    item = ReviewItem.objects.filter(ai_request_id=request_id).first() if request_id else None
    if item is None or user is None:
        return ""
    return AdminURLFinder(user).get_edit_url(item) or ""
