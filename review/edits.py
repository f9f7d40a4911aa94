"""What a reviewer changed when approving with edits, as a diff of the model's text and the edit.

Shown three times: as a preview in the decision form before anything is decided, on the item's
inspect screen once decided, and beside the decision in the item's history.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString

from .diffs import text_diff_html, text_diff_stats
from .models import ReviewItem


@dataclass(kw_only=True, frozen=True)
class EditDiff:
    html: SafeString
    inserted_words: int
    deleted_words: int

    @property
    def changed(self) -> bool:
        return bool(self.inserted_words or self.deleted_words)


def edit_diff(*, original: str, edited: str) -> EditDiff:
    """Compared as the service will store them (stripped), so the preview shows what is decided."""
    original, edited = (original or "").strip(), (edited or "").strip()
    stats = text_diff_stats(original, edited)
    return EditDiff(
        html=text_diff_html(original, edited),
        inserted_words=stats.inserted_words,
        deleted_words=stats.deleted_words,
    )


def review_item_edit_diff(*, item: ReviewItem) -> EditDiff | None:
    """The decided edit of an item approved with edits; None for any other item."""
    if item.status != ReviewItem.Status.APPROVED_WITH_EDITS or not item.edited_text:
        return None
    return edit_diff(original=item.original_text, edited=item.edited_text)


def edit_log_data(*, original: str, edited: str | None) -> dict:
    """Word counts kept in the audit-log entry of an edited approval (the texts stay on the item)."""
    if not edited:
        return {}
    stats = text_diff_stats((original or "").strip(), edited.strip())
    return {"edit": {"inserted_words": stats.inserted_words, "deleted_words": stats.deleted_words}}
