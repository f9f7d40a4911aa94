"""What AI output rests on a page, block by block: the text of each block of a revision, as the
knowledge index reads it, and the outputs citing the page (the editor's AI tab).

The review app decides what a change to a page means for approved answers (a "source changed"
queue item with the old and new text of each cited block; the "Legal sign-off on AI impact"
workflow task); only this app knows how a page's blocks become text. It hands that over through
the ``ai_page_block_texts`` Wagtail hook (``content/wagtail_hooks.py``), so neither app imports
the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from wagtail import hooks
from wagtail.models import Page, Revision

from ai_core.answers.api import approved_answers_citing_page
from ai_core.models import AIRequest
from ai_core.rag.models import KnowledgeChunk, OutputProvenance

from .indexing import INDEXED_MODELS, page_segments
from .models import PageSummary


@dataclass(kw_only=True, frozen=True)
class BlockText:
    """One block's text, and the heading it sits under (what an editor recognises it by)."""

    block_id: str
    text: str
    heading: str
    is_heading: bool = False

    @property
    def label(self) -> str:
        if self.is_heading:
            return f"Heading “{self.text}”"
        if not self.block_id:
            return "Introduction"
        return f"Under “{self.heading}”" if self.heading else "Top of the page"


def block_texts_of(page) -> dict[str, BlockText]:
    """Block id → its text, in page order, from the same segments the indexer chunks (so the
    text is what answers were grounded on: rich text as plain text, list items one per line)."""
    blocks: dict[str, BlockText] = {}
    heading = ""
    for segment in page_segments(page):
        if segment.heading_level:
            heading = " ".join(segment.text.split())
            blocks[segment.block_id] = BlockText(
                block_id=segment.block_id, text=heading, heading=heading, is_heading=True
            )
            continue
        text = "\n".join(segment.units) if segment.units else segment.text.strip()
        blocks[segment.block_id] = BlockText(block_id=segment.block_id, text=text, heading=heading)
    return blocks


def page_block_texts(*, page_id: int, revision_id: int | None = None) -> dict[str, BlockText] | None:
    """The blocks of ``revision_id`` of the page (its live version when ``None``), or ``None``
    when there is nothing to read: not an indexed page type, no such revision (purged), or a
    revision of another page."""
    page = Page.objects.filter(pk=page_id).first()
    if page is None or not issubclass(page.specific_class, INDEXED_MODELS):
        return None
    if revision_id is None:
        return block_texts_of(page.specific)
    revision = Revision.objects.page_revisions().filter(pk=revision_id, object_id=str(page_id)).first()
    if revision is None:
        return None
    return block_texts_of(revision.as_object())


# --- What depends on a page (the editor's AI tab)


@dataclass(kw_only=True, frozen=True)
class CitedBlock:
    block_id: str
    label: str
    excerpt: str
    # The page's unpublished changes alter (or remove) this block.
    changed_in_draft: bool = False


@dataclass(kw_only=True)
class Dependent:
    """One AI output resting on the page, and the page's blocks it cites."""

    kind: str  # "approved_answer" | "summary" | "awaiting_review"
    title: str
    status: str
    blocks: list[CitedBlock]
    # Cited passages no longer on the page as they were (changed since the output was made).
    changed_passages: int = 0
    url: str = ""
    when: object = None

    @property
    def changed_in_draft(self) -> bool:
        return any(block.changed_in_draft for block in self.blocks)


@dataclass(kw_only=True)
class PageDependents:
    approved_answers: list[Dependent]
    summaries: list[Dependent]
    awaiting_review: list[Dependent]

    @property
    def draft_affects(self) -> list[Dependent]:
        """The approved answers the unpublished changes would send back to a reviewer on publish."""
        return [answer for answer in self.approved_answers if answer.changed_in_draft]

    @property
    def draft_changed_blocks(self) -> int:
        return len({b.block_id for a in self.draft_affects for b in a.blocks if b.changed_in_draft})

    @property
    def total(self) -> int:
        return len(self.approved_answers) + len(self.summaries) + len(self.awaiting_review)


def _cited(
    block_ids, blocks: dict[str, BlockText], draft: dict[str, BlockText] | None = None
) -> list[CitedBlock]:
    """The cited blocks as they read live; ``draft``: the latest revision's blocks, when it is
    not the live one, to mark the blocks an unpublished change alters."""
    cited = []
    for block_id in dict.fromkeys(b for b in block_ids if b):
        block = blocks.get(block_id)
        if block is None:
            cited.append(CitedBlock(block_id=block_id, label="A block no longer on the page", excerpt=""))
            continue
        excerpt = " ".join(block.text.split())
        in_draft = draft.get(block_id) if draft is not None else block
        cited.append(
            CitedBlock(
                block_id=block_id,
                label=block.label,
                excerpt=excerpt if len(excerpt) <= 90 else excerpt[:89].rstrip() + "…",
                changed_in_draft=in_draft is None or in_draft.text != block.text,
            )
        )
    return cited


HIDDEN_QUESTION = "A visitor's question (only the review queue's readers see it)"


def _may_read_questions(user) -> bool:
    """Visitors' questions are the review queue's to show: each ``ai_dependents_readable`` hook
    (the review app: whoever may list its queue) must agree, and with none registered nobody does."""
    checks = hooks.get_hooks("ai_dependents_readable")
    return bool(checks) and user is not None and all(fn(user=user) for fn in checks)


def _admin_url(obj, user) -> str:
    """Where a reviewer opens an output: the apps that own the screens answer the
    ``ai_dependent_admin_url`` hook (the review app: its queue item, the approved answer)."""
    for fn in hooks.get_hooks("ai_dependent_admin_url"):
        url = fn(obj=obj, user=user)
        if url:
            return url
    return ""


def _outputs_citing(requests, page_id: int, blocks: dict[str, BlockText]) -> list[tuple]:
    """(request, cited blocks on this page, cited passages changed since) per request."""
    provenance = dict(
        OutputProvenance.objects.filter(request__in=[r.pk for r in requests]).values_list(
            "request_id", "chunk_ids"
        )
    )
    chunk_ids = {c for ids in provenance.values() for c in ids}
    chunks = {
        pk: (page, block_ids)
        for pk, page, block_ids in KnowledgeChunk.objects.filter(pk__in=chunk_ids).values_list(
            "pk", "page_id", "block_ids"
        )
    }
    rows = []
    for request in requests:
        ids = provenance.get(request.pk, [])
        here = [chunks[c][1] for c in ids if c in chunks and chunks[c][0] == page_id]
        gone = sum(1 for c in ids if c not in chunks)
        rows.append((request, _cited([b for block_ids in here for b in block_ids], blocks), gone))
    return rows


def page_dependents(*, page, user=None, limit: int = 50) -> PageDependents:
    """Approved answers, page summaries and outputs awaiting review that cite the page's blocks
    (its live version), and which blocks each one cites. Public selectors and models of ai_core
    only; links come from the apps owning the screens (``ai_dependent_admin_url`` hook).

    ``page`` may be the editor's copy (the latest revision): the blocks shown are read from the
    live page, and those the unpublished changes alter are marked, so an editor sees before
    publishing which approved answers the change would send back to a reviewer."""
    live = Page.objects.filter(pk=page.pk).first()
    blocks = block_texts_of(live.specific) if live is not None and live.live else {}
    draft = None
    if blocks and live.has_unpublished_changes and live.latest_revision_id != live.live_revision_id:
        draft = page_block_texts(page_id=page.pk, revision_id=live.latest_revision_id)
    readable = _may_read_questions(user)
    answers = []
    for answer in approved_answers_citing_page(page_id=page.pk)[:limit]:
        block_ids = [
            b for s in answer.sources or [] if s.get("page_id") == page.pk for b in s.get("block_ids", [])
        ]
        answers.append(
            Dependent(
                kind="approved_answer",
                title=answer.question if readable else HIDDEN_QUESTION,
                status=answer.get_status_display(),
                blocks=_cited(block_ids, blocks, draft),
                url=_admin_url(answer, user),
                when=answer.approved_at,
            )
        )
    summaries = []
    summary_requests = [
        s.ai_request
        for s in PageSummary.objects.filter(page_id=page.pk)
        .select_related("ai_request")
        .order_by("-created_at")[:1]
    ]
    for request, cited, gone in _outputs_citing(summary_requests, page.pk, blocks):
        summaries.append(
            Dependent(
                kind="summary",
                title=f"Summary ({request.prompt_key} v{request.prompt_version})",
                status=request.get_status_display(),
                blocks=cited,
                changed_passages=gone,
                when=request.created_at,
            )
        )
    held = list(
        AIRequest.objects.filter(
            status=AIRequest.Status.AWAITING_REVIEW, provenance__page_ids__contains=[page.pk]
        ).order_by("created_at")[:limit]
    )
    awaiting = [
        Dependent(
            kind="awaiting_review",
            title=str((request.payload or {}).get("question") or request.prompt_key)
            if readable
            else HIDDEN_QUESTION,
            status=request.get_status_display(),
            blocks=cited,
            changed_passages=gone,
            url=_admin_url(request, user),
            when=request.created_at,
        )
        for request, cited, gone in _outputs_citing(held, page.pk, blocks)
    ]
    return PageDependents(approved_answers=answers, summaries=summaries, awaiting_review=awaiting)
