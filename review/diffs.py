"""Word-level diffs of two texts as HTML, for reviewers: the model's text against the edited text,
the old text of a cited block against the new one.

Everything from either text is escaped before it is wrapped in ``<ins>``/``<del>``: model output
and page text are untrusted here (an answer may contain ``<script>``). Whitespace is kept as its
own token, so a reviewer sees where lines break; line breaks become ``<br>`` when ``linebreaks``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Words, runs of whitespace, and single punctuation marks: "30 days." changes to "14 days." as
# one word, not as the whole sentence.
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


def _tokens(text: str) -> list[str]:
    return _TOKENS.findall(text)


@dataclass(kw_only=True, frozen=True)
class DiffStats:
    inserted_words: int
    deleted_words: int

    @property
    def changed(self) -> bool:
        return bool(self.inserted_words or self.deleted_words)


def _piece(tokens: list[str], *, linebreaks: bool) -> str:
    html = escape("".join(tokens))
    return html.replace("\n", "<br>") if linebreaks else html


def _words(tokens: list[str]) -> int:
    # Punctuation and whitespace runs are tokens of their own but not words.
    return sum(1 for token in tokens if token[0].isalnum() or token[0] == "_")


def text_diff_opcodes(old: str, new: str) -> list[tuple[str, list[str], list[str]]]:
    """``(tag, old_tokens, new_tokens)`` per run, tag one of equal/replace/delete/insert."""
    a, b = _tokens(old or ""), _tokens(new or "")
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return [(tag, a[i1:i2], b[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes()]


def text_diff_stats(old: str, new: str) -> DiffStats:
    inserted = deleted = 0
    for _tag, old_part, new_part in text_diff_opcodes(old, new):
        if old_part != new_part:
            deleted += _words(old_part)
            inserted += _words(new_part)
    return DiffStats(inserted_words=inserted, deleted_words=deleted)


def text_diff_html(old: str, new: str, *, linebreaks: bool = True) -> SafeString:
    """``old`` → ``new`` as one HTML fragment: unchanged text plain, removed text in
    ``<del class="review-diff__del">``, added text in ``<ins class="review-diff__ins">``, all inside
    ``<div class="review-diff">``. Safe to put in a template as is; every piece of either text is
    escaped. A replaced run shows its deletion before its insertion."""
    parts: list[str] = []
    for tag, old_part, new_part in text_diff_opcodes(old, new):
        if tag == "equal":
            parts.append(_piece(old_part, linebreaks=linebreaks))
            continue
        if old_part:
            parts.append(f'<del class="review-diff__del">{_piece(old_part, linebreaks=linebreaks)}</del>')
        if new_part:
            parts.append(f'<ins class="review-diff__ins">{_piece(new_part, linebreaks=linebreaks)}</ins>')
    # Every fragment above was escaped; the only markup is ours.
    return mark_safe(f'<div class="review-diff">{"".join(parts)}</div>')  # noqa: S308
