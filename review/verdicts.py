"""A verdict per sentence for the reviewer's inspect screen: supported, weakly supported (word
overlap), unsupported figure or contradicted figure, with the passages the sentence was measured
against and the matching or conflicting figure marked in both.

The checks are the gate's own (``rules.sentence_sources``, ``rules.support_share``,
``figures.assess``), so the screen explains the decision that held the output rather than a
second opinion. The model's text and the passages are untrusted: every piece is escaped by
``format_html``/``format_html_join``, and only the ``<mark>`` tags added here are markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from . import figures, rules
from .conf import review_settings

SUPPORTED = "supported"
WEAK = "weak"
UNSUPPORTED_FIGURE = "unsupported_figure"
CONTRADICTED_FIGURE = "contradicted_figure"
UNCHECKED = "unchecked"

LABELS = {
    SUPPORTED: "Supported",
    WEAK: "Weakly supported",
    UNSUPPORTED_FIGURE: "Unsupported figure",
    CONTRADICTED_FIGURE: "Contradicted figure",
    UNCHECKED: "No claim to check",
}
# How a figure is marked: in the sentence by its own status, in a passage as the match or conflict.
_MARK = {figures.SUPPORTED: "match", figures.CONTRADICTED: "conflict", figures.UNSUPPORTED: "unsupported"}
# Characters of context kept either side of a marked figure when a passage is shortened.
EXCERPT_CONTEXT = 140
EXCERPT_MAX = 420


@dataclass(kw_only=True)
class PassageView:
    number: int
    title: str
    html: SafeString
    title_html: SafeString = SafeString("")
    cited: bool = True  # False: a passage that states the figure but that the sentence does not cite


@dataclass(kw_only=True)
class FigureNote:
    text: str
    status: str
    note: str


@dataclass(kw_only=True)
class SentenceVerdict:
    text: str
    html: SafeString
    verdict: str
    label: str
    support: float | None = None  # share of the sentence's words found in its sources
    figures: list[FigureNote] = field(default_factory=list)
    passages: list[PassageView] = field(default_factory=list)


def _marked(text: str, spans: Sequence[tuple[int, int, str]]) -> SafeString:
    """``text`` escaped, with each (start, end, kind) span inside a ``<mark>``."""
    pieces: list[str | SafeString] = []
    position = 0
    for start, end, kind in sorted(set(spans)):
        if start < position:
            continue  # overlapping marks: the first one wins
        pieces.append(text[position:start])
        pieces.append(
            format_html('<mark class="review-figure review-figure--{}">{}</mark>', kind, text[start:end])
        )
        position = end
    pieces.append(text[position:])
    return format_html_join("", "{}", ((piece,) for piece in pieces))


def _excerpt(text: str, spans: Sequence[tuple[int, int, str]]) -> SafeString:
    """The whole passage when it is short, otherwise the stretches around its marked figures."""
    if len(text) <= EXCERPT_MAX:
        return _marked(text, spans)
    if not spans:
        cut = text.rfind(" ", 0, EXCERPT_MAX)
        return format_html("{}…", text[: cut if cut > 0 else EXCERPT_MAX])
    windows: list[list[int]] = []
    for start, end, _kind in sorted(spans):
        low, high = max(0, start - EXCERPT_CONTEXT), min(len(text), end + EXCERPT_CONTEXT)
        if windows and low <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], high)
        else:
            windows.append([low, high])
    parts = []
    for low, high in windows:
        inside = [(s - low, e - low, k) for s, e, k in spans if low <= s and e <= high]
        parts.append(
            format_html(
                "{}{}{}",
                "… " if low > 0 else "",
                _marked(text[low:high], inside),
                " …" if high < len(text) else "",
            )
        )
    return format_html_join(" ", "{}", ((part,) for part in parts))


def _note(check: figures.FigureCheck, elsewhere: int | None) -> str:
    written = check.figure.text
    if check.status == figures.SUPPORTED:
        return f"{written}: [{check.source}] states {check.evidence.text}"
    if check.status == figures.CONTRADICTED:
        return f"{written}: [{check.source}] says {check.evidence.text}"
    if elsewhere is not None:
        return f"{written}: in none of the cited sources; [{elsewhere}] states it, but this sentence does not cite it"
    return f"{written}: in none of the cited sources"


def sentence_verdicts(
    *, text: str, sources: Sequence[rules.SourceLike], config: rules.RuleConfig
) -> list[SentenceVerdict]:
    """One verdict per sentence of ``text``; ``sources`` need ``title`` as well as number and text."""
    sources = [source for source in sources if source.text]
    exempt = config.grounding_exempt_phrases
    pairs = rules.sentence_sources(text, sources) if sources else [(s, []) for s in rules.sentences(text)]
    verdicts = []
    for sentence, cited in pairs:
        passages = rules.figure_passages(cited)
        checks = figures.assess(sentence, passages)
        cited_numbers = {source.number for source in cited}
        # Marks per source number, in its text and in its title (where the evidence was found).
        spans: dict[int, list[tuple[int, int, str]]] = {}
        title_spans: dict[int, list[tuple[int, int, str]]] = {}
        notes = []
        for check in checks:
            elsewhere = None
            if check.evidence is not None:
                number, passage_text = passages[check.passage]
                # figure_passages gives each source's text, then its title.
                in_title = passage_text != next(s.text for s in cited if s.number == number)
                (title_spans if in_title else spans).setdefault(number, []).append(
                    (check.evidence.start, check.evidence.end, _MARK[check.status])
                )
            elif check.status == figures.UNSUPPORTED:
                elsewhere = _stated_elsewhere(check.figure, sources, cited_numbers)
                if elsewhere is not None:
                    spans.setdefault(elsewhere[0], []).append((*elsewhere[1], "match"))
                    elsewhere = elsewhere[0]
            notes.append(
                FigureNote(text=check.figure.text, status=check.status, note=_note(check, elsewhere))
            )
        share = rules.support_share(sentence, cited, min_tokens=config.min_sentence_tokens, exempt=exempt)
        statuses = {check.status for check in checks}
        if not sources:
            verdict = UNCHECKED
        elif figures.CONTRADICTED in statuses:
            verdict = CONTRADICTED_FIGURE
        elif figures.UNSUPPORTED in statuses:
            verdict = UNSUPPORTED_FIGURE
        elif share is None:
            verdict = SUPPORTED if statuses else UNCHECKED
        else:
            verdict = WEAK if share < config.min_sentence_support else SUPPORTED
        shown = [source for source in sources if source.number in cited_numbers or source.number in spans]
        verdicts.append(
            SentenceVerdict(
                text=sentence,
                html=_marked(sentence, [(c.figure.start, c.figure.end, _MARK[c.status]) for c in checks]),
                verdict=verdict,
                label=LABELS[verdict],
                support=share,
                figures=notes,
                passages=[
                    PassageView(
                        number=source.number,
                        title=getattr(source, "title", ""),
                        title_html=_marked(getattr(source, "title", ""), title_spans.get(source.number, [])),
                        html=_excerpt(source.text, spans.get(source.number, [])),
                        cited=source.number in cited_numbers,
                    )
                    for source in shown
                ],
            )
        )
    return verdicts


def review_item_verdicts(*, item, sources: Sequence[rules.SourceLike]) -> list[SentenceVerdict]:
    """The verdicts for a queue item's original output (what the gate judged), against the
    sources as the inspect screen shows them (``selectors.review_item_sources``)."""
    return sentence_verdicts(text=item.original_text, sources=sources, config=review_settings().rules)


def _stated_elsewhere(
    figure: figures.Figure, sources: Sequence[rules.SourceLike], cited: set[int]
) -> tuple[int, tuple[int, int]] | None:
    """The first source the sentence does not cite that states the figure: a figure cited to the
    wrong source is easier to fix when the reviewer sees where it came from."""
    for source in sources:
        if source.number in cited:
            continue
        for found in figures.extract_figures(source.text):
            if figures.matches(figure, found):
                return source.number, (found.start, found.end)
    return None
