"""Figures in text (amounts, percentages, durations, dates, times, phone numbers, e-mail addresses,
plain numbers), normalised so that two ways of writing one value compare equal.

Word overlap cannot tell "within 14 days" from "within 30 days": both sentences share every word
but one. A figure is the part of a claim a visitor acts on, so the gate checks each one against the
passages its sentence cites. Pure (no Django) for the same reasons as ``review.rules``: it runs
after every streamed sentence, and a figure should be testable from a string.

What is and is not a figure, deliberately:
- Number words count only with a unit ("thirty days", "twenty-one per cent", "two weeks", "a
  fortnight"); bare number words ("one of our plans", "no one") are prose.
- Units are compared within a family: calendar days (days, weeks, fortnights), months (months,
  years), working days (working/business days) and clock durations (hours, minutes). "Two weeks"
  equals "14 days", but "10 working days" is not "14 days" and "a month" is not "30 days".
- A plain number (a count, a year, a clause number) is checked for presence only: it has no unit
  to say which figure of the passage it should be compared with, so it can never "contradict".
  Plain whole numbers below ten are not checked: style guides write them as words, and like the
  number words they are prose ("step 2", "1 of our 3 plans", a model's own enumeration).
- Citation markers ``[1]`` and list numbering ("1." at the start of a line) are not figures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

MONEY = "money"
PERCENT = "percent"
DURATION = "duration"
DATE = "date"
TIME = "time"
PHONE = "phone"
EMAIL = "email"
NUMBER = "number"

SUPPORTED = "supported"
UNSUPPORTED = "unsupported"
CONTRADICTED = "contradicted"

# Kinds whose values can conflict: a passage stating another value of the same kind and unit
# family contradicts the sentence. Plain numbers only need to be present.
_COMPARABLE = frozenset({MONEY, PERCENT, DURATION, DATE, TIME, PHONE, EMAIL})


@dataclass(frozen=True)
class Figure:
    """One figure as found in a text. ``low``/``high`` are equal unless it is a range; dates,
    phone numbers and e-mail addresses compare by ``keys`` (a numeric date such as 03/04/2025 has
    two readings)."""

    kind: str
    text: str
    start: int
    end: int
    unit: str = ""
    low: Decimal | None = None
    high: Decimal | None = None
    keys: frozenset = field(default_factory=frozenset)
    # The numbers as written ("two weeks" -> 2): a plain number is present if any figure wrote it.
    written: tuple[Decimal, ...] = ()

    @property
    def is_range(self) -> bool:
        return self.low is not None and self.high != self.low


@dataclass(frozen=True)
class FigureCheck:
    """A sentence's figure against the passages the sentence cites. ``evidence`` is the passage's
    matching figure (supported) or conflicting one (contradicted), found in source ``source``."""

    figure: Figure
    status: str
    source: int | None = None
    evidence: Figure | None = None
    passage: int | None = None


# --- Numbers

_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
_ONE_TO_NINE = "(?:one|two|three|four|five|six|seven|eight|nine)"
_SMALL = (
    "(?:(?:" + "|".join(_TENS) + rf")(?:[-\s]{_ONE_TO_NINE})?"
    "|" + "|".join(sorted(_ONES, key=len, reverse=True)) + ")"
)
# "twenty-one", "one hundred and five"; never "five-ten" (a range) or "five and ten" (two numbers).
_WORDS = rf"(?:{_SMALL}(?:\s+hundred(?:\s+and\s+{_SMALL})?)?|(?:a\s+)?hundred)(?![\w-])"
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# A number in digits or words; "a"/"an" only where a unit follows (the callers add the unit).
_NUM = rf"(?:{_DIGITS}|{_WORDS})"
_NUM_OR_A = rf"(?:{_DIGITS}|{_WORDS}|an?)"


def _words_value(words: str) -> Decimal | None:
    current = 0
    for word in re.split(r"[-\s]+", words.lower()):
        if word in {"and", "a"}:
            continue
        if word in _ONES:
            current += _ONES[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        else:
            return None
    return Decimal(current)


def parse_number(text: str) -> Decimal | None:
    """ "1,200.50" -> 1200.50, "twenty-one" -> 21, "a" -> 1; None if it is not a number."""
    text = text.strip()
    if text.lower() in {"a", "an"}:
        return Decimal(1)
    if re.fullmatch(_DIGITS, text):
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:
            return None
    if re.fullmatch(_WORDS, text, re.I):
        return _words_value(text)
    return None


# --- Units

_CURRENCY_SYMBOLS = {"£": "GBP", "$": "USD", "US$": "USD", "€": "EUR", "¥": "JPY", "A$": "AUD", "C$": "CAD"}
_CURRENCY_CODES = ("GBP", "USD", "EUR", "CHF", "AUD", "CAD", "JPY", "SEK", "NOK", "DKK", "NZD", "INR")
_CURRENCY_WORDS = {
    "pound": "GBP", "pounds": "GBP", "pence": "GBP", "euro": "EUR", "euros": "EUR",
    "dollar": "USD", "dollars": "USD",
}  # fmt: skip
_MULTIPLIERS = {"k": 1000, "m": 10**6, "bn": 10**9, "thousand": 1000, "million": 10**6, "billion": 10**9}

# unit word -> (family, size in the family's base unit)
_DURATION_UNITS = {
    "day": ("day", 1), "week": ("day", 7), "fortnight": ("day", 14),
    "month": ("month", 1), "year": ("month", 12),
    "working day": ("working_day", 1), "business day": ("working_day", 1),
    "hour": ("minute", 60), "hr": ("minute", 60), "minute": ("minute", 1), "min": ("minute", 1),
}  # fmt: skip
_DURATION_UNIT = (
    r"(?:(?:working|business|calendar|banking)[\s-]+days?|days?|weeks?|fortnights?|months?|years?"
    r"|hours?|hrs?|minutes?|mins?)"
)
# Clock hours beside days would meet "24 hours" and "1 day" only by converting; they stay apart,
# and this says which families may still be found equal.
_BASE_IN_MINUTES = {"minute": 1, "day": 24 * 60}
_PERCENT_UNIT = r"(?:%|\s?per\s?cent\b|\s?percent\b)"
_RANGE_SEP = r"\s*(?:-|–|—|to)\s*"

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)


def _month_number(name: str) -> int:
    name = name.rstrip(".").lower()
    return next(number for full, number in _MONTHS.items() if full.startswith(name[:3]))


def _duration_unit(word: str) -> tuple[str, int]:
    word = re.sub(r"[\s-]+", " ", word.lower())
    word = re.sub(r"^(?:calendar|banking) ", "", word)
    singular = word[:-1] if word.endswith("s") else word
    return _DURATION_UNITS[singular]


# --- Patterns, in the order they claim text (an e-mail address before its digits, a date before
# its numbers, a range before its ends).

CITATION_RE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE_RE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d \-().]{7,}\d(?!\w)")

_B = r"(?<![\w.,£$€¥])"  # a figure does not start inside a word or another number
_E = r"(?![\w%]|[.,]\d)"  # nor end inside one

_DATE_PATTERNS = [
    re.compile(rf"{_B}(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}}){_E}"),
    re.compile(
        rf"{_B}(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})(?:,?\s+(?P<y>\d{{4}}))?{_E}"
    ),
    re.compile(rf"\b(?P<mon>{_MONTH})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?{_E}"),
    re.compile(rf"\b(?P<mon>{_MONTH})\s+(?P<y>\d{{4}}){_E}"),
    re.compile(rf"{_B}(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})/(?P<y>\d{{4}}|\d{{2}}){_E}"),
    re.compile(rf"{_B}(?P<a>\d{{1,2}})[.-](?P<b>\d{{1,2}})[.-](?P<y>\d{{4}}){_E}"),
]
_TIME_RE = re.compile(
    rf"{_B}(?P<h>\d{{1,2}})(?::(?P<min>\d{{2}}))?\s?(?P<ampm>[ap]\.?m\b\.?)|{_B}(?P<h24>\d{{1,2}}):(?P<m24>\d{{2}}){_E}",
    re.I,
)
_SYMBOL = r"(?:US\$|A\$|C\$|[£$€¥])"
_CODE = "(?:" + "|".join(_CURRENCY_CODES) + ")"
_MULT = r"(?:\s?(?:k|m|bn)\b|\s(?:thousand|million|billion)\b)"
_AMOUNT = rf"(?:{_DIGITS}){_MULT}?"
_MONEY_PATTERNS = [
    # £5–£10, £5-10, between £5 and £10
    re.compile(
        rf"(?:\bbetween\s+)?(?P<sym>{_SYMBOL})\s?(?P<lo>{_AMOUNT})(?P<sep>{_RANGE_SEP}|\s+and\s+)(?:{_SYMBOL})?\s?(?P<hi>{_AMOUNT}){_E}"
    ),
    re.compile(rf"(?P<sym>{_SYMBOL})\s?(?P<lo>{_AMOUNT}){_E}"),
    re.compile(rf"\b(?P<code>{_CODE})\s?(?P<lo>{_AMOUNT}){_E}"),
    re.compile(rf"{_B}(?P<lo>{_AMOUNT})\s?(?P<code>{_CODE})\b"),
    re.compile(rf"{_B}(?P<lo>{_AMOUNT}|{_WORDS})\s(?P<word>pounds?|pence|euros?|dollars?)\b", re.I),
]
_PENCE_RE = re.compile(rf"{_B}(?P<lo>\d+)p\b")
_MONEY_PATTERNS.append(_PENCE_RE)
_PERCENT_PATTERNS = [
    re.compile(
        rf"(?:\bbetween\s+)?{_B}(?P<lo>{_NUM})%?(?P<sep>{_RANGE_SEP}|\s+and\s+)(?P<hi>{_NUM}){_PERCENT_UNIT}",
        re.I,
    ),
    re.compile(rf"{_B}(?P<lo>{_NUM}){_PERCENT_UNIT}", re.I),
]
_DURATION_PATTERNS = [
    re.compile(
        rf"(?:\b(?:between|from)\s+)?{_B}(?P<lo>{_NUM})(?P<sep>{_RANGE_SEP}|\s+and\s+)(?P<hi>{_NUM})[\s-]+(?P<unit>{_DURATION_UNIT})\b",
        re.I,
    ),
    # "once a week", "twice a year", "per day" are frequencies, not durations.
    re.compile(
        rf"(?<!\bonce\s)(?<!\btwice\s)(?<!\bper\s)(?<!\beach\s)(?<!\bevery\s)(?<!\btimes\s)"
        rf"{_B}(?P<lo>{_NUM_OR_A})[\s-]+(?P<unit>{_DURATION_UNIT})\b",
        re.I,
    ),
]
# Digits joined to letters by a hyphen are part of a name ("COVID-19", "claude-sonnet-4-6").
_NUMBER_RE = re.compile(rf"{_B}(?<![A-Za-z]-)(?<![A-Za-z]-\d-)(?P<n>{_DIGITS}){_E}(?!-[A-Za-z])")
_LIST_MARKER = re.compile(r"(?<![\w:.,])\(?(?P<n>\d{1,2})[.)](?=\s|$)")


def _amount(text: str) -> Decimal | None:
    match = re.fullmatch(rf"(?P<n>{_DIGITS}|{_WORDS})(?P<mult>{_MULT})?", text.strip(), re.I)
    if not match:
        return None
    value = parse_number(match["n"])
    if value is None:
        return None
    multiplier = (match["mult"] or "").strip().lower()
    return value * _MULTIPLIERS[multiplier] if multiplier else value


def _date_keys(match: re.Match) -> frozenset:
    """Readings of a date as (year or None, month, day or None); empty if it is not a valid date."""
    parts = match.groupdict()
    year = int(parts["y"]) if parts.get("y") else None
    if year is not None and year < 100:
        year += 2000
    if parts.get("mon"):
        readings = [(_month_number(parts["mon"]), int(parts["d"]) if parts.get("d") else None)]
    elif parts.get("a"):
        a, b = int(parts["a"]), int(parts["b"])
        readings = [(b, a), (a, b)]  # day/month first (the site writes British dates), then US
    else:
        readings = [(int(parts["m"]), int(parts["d"]))]
    return frozenset(
        (year, month, day) for month, day in readings if 1 <= month <= 12 and (day is None or 1 <= day <= 31)
    )


def _written(*values: Decimal | None) -> tuple[Decimal, ...]:
    return tuple(v for v in values if v is not None)


def _list_marker_spans(text: str) -> list[tuple[int, int]]:
    """ "1." or "2)" at the start of a line or after a colon: numbering, not a figure."""
    spans = []
    for match in _LIST_MARKER.finditer(text):
        before = text[: match.start()].rstrip(" \t")
        if not before or before.endswith(("\n", ":", ";")):
            spans.append(match.span())
    return spans


def _bounds(match: re.Match, parse) -> tuple[Decimal, Decimal] | None:
    """A figure's low and high values; None where a part is no number, or where "5 and 10" was
    not introduced by "between" (then it is two figures, which the single patterns find)."""
    groups = match.groupdict()
    sep = (groups.get("sep") or "").strip()
    if sep == "and" and not match.group().lower().startswith("between"):
        return None
    if sep in {"-", "–", "—"} and not (groups["lo"][-1:].isdigit() and groups["hi"][:1].isdigit()):
        return None  # "twenty-one" is one number, not a range from twenty to one
    low = parse(groups["lo"])
    high = parse(groups["hi"]) if groups.get("hi") else low
    return None if low is None or high is None else (low, high)


def _clock(match: re.Match) -> Decimal | None:
    """Minutes after midnight of "5pm", "5:30 p.m.", "17:00"; None for "13pm" or "25:00"."""
    if match["h"] is not None:
        hour, minute = int(match["h"]), int(match["min"] or 0)
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
    else:
        hour, minute = int(match["h24"]), int(match["m24"])
    return Decimal(hour * 60 + minute) if hour <= 23 and minute <= 59 else None


def _currency(match: re.Match) -> str:
    groups = match.groupdict()
    if groups.get("sym"):
        return _CURRENCY_SYMBOLS[groups["sym"]]
    if groups.get("code"):
        return groups["code"]
    if groups.get("word"):
        return _CURRENCY_WORDS[groups["word"].lower()]
    return "GBP"  # "50p"


class _Claims:
    """Figures found so far, and the text with their characters blanked out, so that a later,
    looser pattern cannot read the same characters again (the digits of a date as numbers)."""

    def __init__(self, text: str):
        self.text, self._original, self.found, self._taken = text, text, [], []

    def free(self, match: re.Match) -> bool:
        start, end = match.span()
        return all(end <= s or start >= e for s, e in self._taken)

    def is_rate(self, match: re.Match) -> bool:
        """ "£9 a month", "20% a year": the "a month" is what the amount is per, not a duration."""
        if match["lo"].lower() not in {"a", "an"}:
            return False
        before = len(self._original[: match.start()].rstrip())
        return any(figure.end == before and figure.kind in {MONEY, PERCENT} for figure in self.found)

    def add(self, match: re.Match, kind: str, **values) -> None:
        text = match.group().strip()
        start = match.start() + len(match.group()) - len(match.group().lstrip())
        end = start + len(text)
        self.found.append(Figure(kind=kind, text=text, start=start, end=end, **values))
        self._taken.append((start, end))
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]


@lru_cache(maxsize=512)
def extract_figures(text: str) -> tuple[Figure, ...]:
    """Every figure in ``text``, in order. Cached: the stream gate re-reads the same passages
    after each sentence."""
    work = CITATION_RE.sub(lambda m: " " * len(m.group()), text)
    for start, end in _list_marker_spans(work):
        work = work[:start] + " " * (end - start) + work[end:]
    claims = _Claims(work)

    for match in EMAIL_RE.finditer(claims.text):
        claims.add(match, EMAIL, keys=frozenset({match.group().lower()}))
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(claims.text):
            keys = _date_keys(match)
            if keys and claims.free(match):
                claims.add(
                    match, DATE, keys=keys, written=_written(Decimal(match["y"]) if match["y"] else None)
                )
    for match in PHONE_RE.finditer(claims.text):
        digits = re.sub(r"\D", "", match.group())
        if 9 <= len(digits) <= 15 and claims.free(match):
            claims.add(match, PHONE, keys=frozenset({digits[-9:]}))
    for pattern in _MONEY_PATTERNS:
        for match in pattern.finditer(claims.text):
            bounds = _bounds(match, _amount)
            if bounds and claims.free(match):
                low, high = (
                    (b / 100 for b in bounds)
                    if pattern is _PENCE_RE or (match.groupdict().get("word") or "").lower() == "pence"
                    else bounds
                )
                claims.add(
                    match, MONEY, unit=_currency(match), low=low, high=high, written=_written(low, high)
                )
    for match in _TIME_RE.finditer(claims.text):
        minutes = _clock(match)
        if minutes is not None and claims.free(match):
            hour = Decimal(match["h"] or match["h24"])
            claims.add(match, TIME, low=minutes, high=minutes, written=(hour,))
    for pattern in _PERCENT_PATTERNS:
        for match in pattern.finditer(claims.text):
            bounds = _bounds(match, parse_number)
            if bounds and claims.free(match):
                claims.add(match, PERCENT, unit="%", low=bounds[0], high=bounds[1], written=_written(*bounds))
    for pattern in _DURATION_PATTERNS:
        for match in pattern.finditer(claims.text):
            bounds = _bounds(match, parse_number)
            if bounds and claims.free(match) and not claims.is_rate(match):
                family, size = _duration_unit(match["unit"])
                low, high = bounds
                claims.add(
                    match,
                    DURATION,
                    unit=family,
                    low=low * size,
                    high=high * size,
                    written=_written(low, high),
                )
    for match in _NUMBER_RE.finditer(claims.text):
        value = parse_number(match["n"])
        if value is not None:
            claims.add(match, NUMBER, low=value, high=value, written=(value,))
    return tuple(sorted(claims.found, key=lambda figure: figure.start))


# --- Comparing


def _dates_match(ours: frozenset, theirs: frozenset) -> bool:
    """A date without a year or a day ("1 March", "March 2025") matches any date it could be."""
    return any(
        m1 == m2 and (y1 is None or y2 is None or y1 == y2) and (d1 is None or d2 is None or d1 == d2)
        for y1, m1, d1 in ours
        for y2, m2, d2 in theirs
    )


def _in_minutes(figure: Figure) -> tuple[Decimal, Decimal] | None:
    size = _BASE_IN_MINUTES.get(figure.unit)
    return None if size is None else (figure.low * size, figure.high * size)


def matches(ours: Figure, theirs: Figure) -> bool:
    """Whether ``theirs`` (in a passage) states the figure ``ours`` (in a sentence): the same value,
    or a range of the passage's that contains it ("7 working days" within "5-10 working days")."""
    if ours.kind == NUMBER:
        return any(value in theirs.written for value in ours.written)
    if ours.kind != theirs.kind:
        return False
    if ours.kind == DATE:
        return _dates_match(ours.keys, theirs.keys)
    if ours.kind in {PHONE, EMAIL}:
        return bool(ours.keys & theirs.keys)
    if ours.unit != theirs.unit:
        if ours.kind == DURATION and (a := _in_minutes(ours)) and (b := _in_minutes(theirs)):
            return b[0] <= a[0] and a[1] <= b[1]
        return False
    return theirs.low <= ours.low and ours.high <= theirs.high


def conflicts(ours: Figure, theirs: Figure) -> bool:
    """Whether ``theirs`` states another value of the same kind of figure: money in any currency,
    a duration in the same unit family, another date, phone number or address."""
    if ours.kind not in _COMPARABLE or ours.kind != theirs.kind or matches(ours, theirs):
        return False
    if ours.kind == DURATION:
        return ours.unit == theirs.unit
    return True


def assess(sentence: str, passages: Sequence[tuple[int, str]]) -> list[FigureCheck]:
    """Each figure of ``sentence`` against its cited ``passages`` ((source number, text) pairs; a
    source may give several, e.g. its title and its text): supported when a passage states it,
    contradicted when none does but one states another value of the same kind, unsupported
    otherwise. ``FigureCheck.passage`` is the index of the passage holding the evidence."""
    in_passages = [
        (index, number, figure)
        for index, (number, text) in enumerate(passages)
        for figure in extract_figures(text)
    ]
    checks = []
    for figure in extract_figures(sentence):
        if figure.kind == NUMBER and figure.low < 10 and figure.low == figure.low.to_integral_value():
            continue
        found = next((entry for entry in in_passages if matches(figure, entry[2])), None)
        status = SUPPORTED
        if found is None:
            found = next((entry for entry in in_passages if conflicts(figure, entry[2])), None)
            status = CONTRADICTED
        if found is None:
            checks.append(FigureCheck(figure=figure, status=UNSUPPORTED))
        else:
            index, number, evidence = found
            checks.append(
                FigureCheck(figure=figure, status=status, source=number, evidence=evidence, passage=index)
            )
    return checks
