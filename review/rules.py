"""Flagging rules: small pure functions, each returning the reason codes of one kind of risk.

Pure (no Django, no I/O) because they run in the worker after every generation and, through the
stream gate, after every streamed sentence; and because a rule should be testable from a string.
Configuration arrives as a ``RuleConfig`` built from settings by ``review.conf``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from . import figures


class SourceLike(Protocol):
    """What a rule needs of a source (``ai_core.providers.base.Source`` fits)."""

    number: int
    text: str


HIGH_STAKES = "high_stakes_prompt"
EMPTY = "empty_output"
TOO_LONG = "output_too_long"
REFUSAL = "refusal"
PROFESSIONAL_REFERRAL = "professional_referral"
UNKNOWN_CITATION = "unknown_citation"
PERSONAL_DATA = "personal_data"
WEAK_GROUNDING = "weak_grounding"
CONTRADICTED_FIGURE = "contradicted_figure"
UNSUPPORTED_FIGURE = "unsupported_figure"

# In evaluation order, which is also the order reviewers see them in.
REASON_LABELS: dict[str, str] = {
    HIGH_STAKES: "High-stakes prompt",
    EMPTY: "Empty output",
    TOO_LONG: "Over-long output",
    REFUSAL: "Model refusal",
    PROFESSIONAL_REFERRAL: "Professional referral",
    UNKNOWN_CITATION: "Cites a source it was not given",
    PERSONAL_DATA: "Contact details or personal data not in the sources",
    CONTRADICTED_FIGURE: "A figure contradicts its cited source",
    UNSUPPORTED_FIGURE: "A figure its cited sources do not state",
    WEAK_GROUNDING: "Weak grounding",
}
ALL_REASONS = frozenset(REASON_LABELS)

DEFAULT_REFUSAL_PHRASES = (
    "i can't help with",
    "i cannot help with",
    "i can't assist",
    "i cannot assist",
    "i can't provide",
    "i cannot provide",
    "i'm unable to",
    "i am unable to",
    "i'm not able to",
    "i am not able to",
    "i won't be able to",
    "i must decline",
    "as an ai",
    "as a language model",
)
# The prompts' own "no answer" sentence is a designed outcome, not an unsupported claim.
DEFAULT_GROUNDING_EXEMPT_PHRASES = ("i don't know",)


@dataclass(kw_only=True, frozen=True)
class RuleConfig:
    enabled: frozenset[str] = ALL_REASONS
    refusal_phrases: tuple[str, ...] = DEFAULT_REFUSAL_PHRASES
    grounding_exempt_phrases: tuple[str, ...] = DEFAULT_GROUNDING_EXEMPT_PHRASES
    # A sentence is supported when this share of its content words appears in its sources.
    min_sentence_support: float = 0.5
    # The answer is weakly grounded when more than this share of its checked sentences is not.
    max_unsupported_share: float = 0.0
    # Shorter sentences ("Yes.", "See below.") carry no claim worth checking.
    min_sentence_tokens: int = 4
    max_output_chars: int = 6000


# --- Text helpers


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()


CITATION_RE = figures.CITATION_RE


def cited_numbers(text: str) -> set[int]:
    """Every n in ``[n]`` and ``[n, m]`` markers."""
    return {int(n) for group in CITATION_RE.findall(text) for n in group.split(",")}


_TRAILING_CITATIONS = re.compile(r"([.!?])((?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])+)")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_LIST_MARKER = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")


def sentences(text: str) -> list[str]:
    """Sentences and list items; a citation written after the full stop stays with its sentence."""
    moved = _TRAILING_CITATIONS.sub(r"\2\1", text)
    lines = (_LIST_MARKER.sub("", line) for line in moved.splitlines())
    parts = (part.strip() for line in lines for part in _SENTENCE_SPLIT.split(line))
    return [part for part in parts if part]


STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no nor
    not now of off on once only or other our ours out over own same she should so some such than that
    the their theirs them then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours may might must shall
    us per via within without""".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    """A deliberately crude stemmer: enough for "refunds"/"refunded"/"refund" to meet."""
    if word.isdigit() or len(word) <= 4:
        return word
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + replacement
    return word


def content_tokens(text: str) -> set[str]:
    words = _WORD.findall(_normalise(CITATION_RE.sub(" ", text)).replace("'", ""))
    return {_stem(word) for word in words if word not in STOP_WORDS}


# --- Rules. Each returns [] or [its reason code].


def high_stakes(review_policy: str) -> list[str]:
    """Prompts marked ``review_policy: always`` (e.g. contract analysis) are always held."""
    return [HIGH_STAKES] if review_policy == "always" else []


def empty_or_too_long(text: str, *, max_chars: int) -> list[str]:
    if not text.strip():
        return [EMPTY]
    return [TOO_LONG] if len(text) > max_chars else []


def refusal(text: str, *, phrases: Iterable[str] = DEFAULT_REFUSAL_PHRASES) -> list[str]:
    normalised = _normalise(text)
    return [REFUSAL] if any(_normalise(phrase) in normalised for phrase in phrases) else []


_PROFESSIONALS = (
    r"lawyer|attorney|solicitor|barrister|notary|legal (?:professional|adviser|advisor|counsel)|"
    r"doctor|physician|gp|pharmacist|nurse|medical professional|healthcare professional|therapist|"
    r"accountant|financial (?:adviser|advisor|planner)|tax (?:adviser|advisor)"
)
_REFERRAL_RES = (
    re.compile(
        r"\b(?:consult|consulting|speak (?:to|with)|talk (?:to|with)|contact|see|ask|check with|"
        r"get advice from|seek advice from)\b[^.?!\n]{0,40}?\b(?:" + _PROFESSIONALS + r")s?\b"
    ),
    re.compile(
        r"\b(?:seek|get|obtain|take)\s+(?:independent\s+|professional\s+|proper\s+)?"
        r"(?:legal|medical|financial|tax|professional)\s+(?:advice|help|counsel)\b"
    ),
)


def professional_referral(text: str) -> list[str]:
    """A "consult a lawyer" answer has strayed into advice that a reviewer must look at."""
    normalised = _normalise(text)
    return [PROFESSIONAL_REFERRAL] if any(p.search(normalised) for p in _REFERRAL_RES) else []


def unknown_citations(text: str, sources: Sequence[SourceLike]) -> list[str]:
    """``[n]`` where no source n was provided: the model invented a reference."""
    provided = {source.number for source in sources}
    return [UNKNOWN_CITATION] if cited_numbers(text) - provided else []


_EMAIL, _PHONE = figures.EMAIL_RE, figures.PHONE_RE
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_POSTCODES = (
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b"),  # UK
    re.compile(r"\b[1-9]\d{3} ?[A-Z]{2}\b"),  # NL
)


def contact_details(text: str) -> set[str]:
    """Normalised contact details and personal identifiers found in ``text``."""
    found = {f"email:{match.lower()}" for match in _EMAIL.findall(text)}
    for match in _PHONE.findall(text):
        digits = re.sub(r"\D", "", match)
        if 9 <= len(digits) <= 15:
            found.add(f"phone:{digits[-9:]}")  # "+44 20 ..." and "020 ..." are the same number
    found |= {f"iban:{match.replace(' ', '')}" for match in _IBAN.findall(text)}
    for pattern in _POSTCODES:
        found |= {f"postcode:{match.replace(' ', '')}" for match in pattern.findall(text)}
    return found


def personal_data(text: str, sources: Sequence[SourceLike]) -> list[str]:
    """Contact details in the output that no source contains: invented or leaked, either way risky."""
    in_output = contact_details(text)
    if not in_output:
        return []
    in_sources = set().union(*(contact_details(source.text) for source in sources)) if sources else set()
    return [PERSONAL_DATA] if in_output - in_sources else []


def unsupported_sentences(
    text: str,
    sources: Sequence[SourceLike],
    *,
    min_support: float = 0.5,
    min_tokens: int = 4,
    exempt_phrases: Iterable[str] = DEFAULT_GROUNDING_EXEMPT_PHRASES,
) -> tuple[list[str], int]:
    """The sentences no source supports, and how many sentences were checked.

    Each sentence is measured against the sources it cites; an uncited sentence against every
    source the answer cites (or, citing none, every source provided). Lexical overlap rather than
    embeddings: pure, fast, and good enough for extractive RAG output that reuses source wording.
    """
    if not sources:
        return [], 0
    exempt = [_normalise(phrase) for phrase in exempt_phrases]
    unsupported, checked = [], 0
    for sentence, cited in sentence_sources(text, sources):
        share = support_share(sentence, cited, min_tokens=min_tokens, exempt=exempt)
        if share is None:
            continue
        checked += 1
        if share < min_support:
            unsupported.append(sentence)
    return unsupported, checked


def sentence_sources(text: str, sources: Sequence[SourceLike]) -> list[tuple[str, list[SourceLike]]]:
    """Each sentence with the sources it is measured against: those it cites; for a sentence that
    cites none (or only sources it was not given), every source the answer cites, or every source
    provided when the answer cites none. An uncited sentence reads to a visitor as resting on the
    answer's sources, so it is held to them rather than skipped."""
    by_number = {source.number: source for source in sources}
    answer_cites = cited_numbers(text) & by_number.keys()
    fallback = [by_number[n] for n in sorted(answer_cites or by_number)]
    pairs = []
    for sentence in sentences(text):
        own = sorted(cited_numbers(sentence) & by_number.keys())
        pairs.append((sentence, [by_number[n] for n in own] if own else fallback))
    return pairs


def support_share(
    sentence: str, cited: Sequence[SourceLike], *, min_tokens: int = 4, exempt: Iterable[str] = ()
) -> float | None:
    """The share of the sentence's content words found in ``cited``; None when the sentence is too
    short to carry a claim or is an exempt phrase ("I don't know")."""
    tokens = content_tokens(sentence)
    if len(tokens) < min_tokens or any(_normalise(phrase) in _normalise(sentence) for phrase in exempt):
        return None
    support = set().union(*(_source_tokens(source.text) for source in cited))
    return len(tokens & support) / len(tokens)


@lru_cache(maxsize=512)
def _source_tokens(text: str) -> frozenset[str]:
    return frozenset(content_tokens(text))


def figure_checks(text: str, sources: Sequence[SourceLike]) -> list[tuple[str, list[figures.FigureCheck]]]:
    """Each sentence with the check of every figure it states against the sources it cites."""
    return [
        (sentence, figures.assess(sentence, figure_passages(cited)))
        for sentence, cited in sentence_sources(text, sources)
    ]


def figure_passages(sources: Sequence[SourceLike]) -> list[tuple[int, str]]:
    """What the model was shown of each source, for figures: its text and its title (given as
    ``<source title="...">``), so "the 2024 policy [1]" is grounded in a source titled so."""
    passages = []
    for source in sources:
        passages.append((source.number, source.text))
        if getattr(source, "title", ""):
            passages.append((source.number, source.title))
    return passages


def figure_grounding(text: str, sources: Sequence[SourceLike]) -> list[str]:
    """A figure the cited passage states differently ("14 days" against "30 days") is contradicted;
    one no cited passage states is unsupported. Without sources there is nothing to check against
    (as for weak grounding): prompts that are given no sources are not answering from them."""
    if not sources:
        return []
    statuses = {check.status for _sentence, checks in figure_checks(text, sources) for check in checks}
    return [
        code
        for status, code in (
            (figures.CONTRADICTED, CONTRADICTED_FIGURE),
            (figures.UNSUPPORTED, UNSUPPORTED_FIGURE),
        )
        if status in statuses
    ]


def weak_grounding(
    text: str,
    sources: Sequence[SourceLike],
    *,
    min_support: float = 0.5,
    max_unsupported_share: float = 0.0,
    min_tokens: int = 4,
    exempt_phrases: Iterable[str] = DEFAULT_GROUNDING_EXEMPT_PHRASES,
) -> list[str]:
    """Without sources there is nothing to measure against, so the rule does not apply."""
    unsupported, checked = unsupported_sentences(
        text, sources, min_support=min_support, min_tokens=min_tokens, exempt_phrases=exempt_phrases
    )
    return [WEAK_GROUNDING] if checked and len(unsupported) / checked > max_unsupported_share else []


# --- Putting them together


def _content_rules(text: str, sources: Sequence[SourceLike], config: RuleConfig) -> list[str]:
    if not text.strip():
        return []
    return [
        *refusal(text, phrases=config.refusal_phrases),
        *professional_referral(text),
        *unknown_citations(text, sources),
        *personal_data(text, sources),
        *figure_grounding(text, sources),
        *weak_grounding(
            text,
            sources,
            min_support=config.min_sentence_support,
            max_unsupported_share=config.max_unsupported_share,
            min_tokens=config.min_sentence_tokens,
            exempt_phrases=config.grounding_exempt_phrases,
        ),
    ]


def _enabled_in_order(found: Iterable[str], config: RuleConfig) -> list[str]:
    found = set(found)
    return [code for code in REASON_LABELS if code in found and code in config.enabled]


def evaluate(
    *, text: str, sources: Sequence[SourceLike], review_policy: str, config: RuleConfig
) -> list[str]:
    """Every enabled rule's reason codes for a finished output, in a stable order."""
    found = high_stakes(review_policy) + empty_or_too_long(text, max_chars=config.max_output_chars)
    return _enabled_in_order(found + _content_rules(text, sources, config), config)


def evaluate_partial(*, text: str, sources: Sequence[SourceLike], config: RuleConfig) -> list[str]:
    """For text still being streamed: the rules that hold for a prefix of the answer.

    "Empty" is left out (a prefix may be empty) and so is the prompt's policy (such prompts are
    never streamed).
    """
    found = [code for code in empty_or_too_long(text, max_chars=config.max_output_chars) if code != EMPTY]
    return _enabled_in_order(found + _content_rules(text, sources, config), config)


def priority_for(reasons: Iterable[str], *, high: Iterable[str], low: Iterable[str]) -> str:
    """High if any reason is high-stakes, low if every reason is low-risk, normal otherwise."""
    reasons = set(reasons)
    if reasons & set(high):
        return "high"
    if reasons and reasons <= set(low):
        return "low"
    return "normal"
