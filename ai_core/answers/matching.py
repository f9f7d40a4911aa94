"""When two questions that embed alike still ask different things. Pure Python (no Django).

Sentence embeddings place "Can I get my money back after 20 days on a yearly plan?" and "... on a
monthly plan?" at cosine 0.96, and "convert a string to a number" / "a number to a string" at
0.995 (bench/answer_reuse_threshold.py): no similarity threshold tells them apart, yet a reused
answer to either would be wrong. So after the threshold, two checks on the words themselves:

- Slot words must agree: numbers (digits and number words), days, months, periods ("per week",
  "20 days", "monthly"), currencies. A question naming another value, or one where the approved
  question named none, is another question.
- Opposites: "open" in one and "close" in the other, "monthly" against "yearly", "add" against
  "remove" ...
- Two content words that trade places across "to", "from", "than" ... ("a string to a number" /
  "a number to a string") swap roles; other reorderings ("If it goes down, how fast ...?") do not.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = frozenset(
    "a an the and or of to in on for is are be by with it its this that do does did how what when can could "
    "i you we our your my me at as if from will would should shall there their them they he she his her "
    "any some just so up has have had get got am was were been being which who whom whose where why s t "
    "d ll ve re m about into than then also please".split()
)

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90", "hundred": "100",
    "once": "1", "twice": "2",
}  # fmt: skip

# ("first", "second" and "may" are left out: "in the first place", "a second", "May I ...?")
# Words of one class name different values of the same thing; each maps to its value.
_SLOTS: dict[str, dict[str, str]] = {
    "day": {d: d for d in "monday tuesday wednesday thursday friday saturday sunday weekend weekday".split()}
    | {"saturdays": "saturday", "sundays": "sunday", "weekends": "weekend", "weekdays": "weekday"},
    "month": {
        m: m
        for m in "january february march april june july august september october november december".split()
    },
    "period": {
        "daily": "day", "day": "day", "days": "day", "weekly": "week", "week": "week", "weeks": "week",
        "fortnight": "fortnight", "fortnightly": "fortnight", "monthly": "month", "month": "month",
        "months": "month", "quarterly": "quarter", "quarter": "quarter", "yearly": "year", "year": "year",
        "years": "year", "annual": "year", "annually": "year", "hour": "hour", "hours": "hour",
        "hourly": "hour", "minute": "minute", "minutes": "minute",
    },
    "currency": {
        "euro": "eur", "euros": "eur", "eur": "eur", "dollar": "usd", "dollars": "usd", "usd": "usd",
        "pound": "gbp", "pounds": "gbp", "sterling": "gbp", "gbp": "gbp",
    },
}  # fmt: skip
# Pairs of opposites: one side in each question (and not both sides in either) is another question.
_OPPOSITES = [
    ({"open", "opens", "opening"}, {"close", "closes", "closing", "shut", "shuts"}),
    ({"add", "adding"}, {"remove", "removing", "delete", "deleting"}),
    ({"upgrade", "upgrading"}, {"downgrade", "downgrading"}),
    ({"start", "starts", "begin", "begins"}, {"end", "ends", "finish", "finishes"}),
    ({"enable", "enabled"}, {"disable", "disabled"}),
    ({"increase", "increases", "raise"}, {"decrease", "decreases", "reduce", "lower"}),
    ({"import", "importing"}, {"export", "exporting"}),
    ({"buy", "buying", "purchase"}, {"sell", "selling"}),
    ({"send", "sending"}, {"receive", "receiving"}),
    ({"minimum", "least"}, {"maximum", "most"}),
    ({"pause", "pausing"}, {"cancel", "cancelling", "canceling"}),
    ({"monthly"}, {"yearly", "annual", "annually"}),
]
# A period counts as a slot as an adjective ("monthly") or after per/a/each/every/a number
# ("per month", "20 days"), not as a plain noun ("New Year's Day").
_PERIOD_LEAD = frozenset("per a an each every".split())
# Words between two swapped words that give them roles ("a string to a number").
_DIRECTIONAL = frozenset("to into from than over vs versus instead".split())


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """The question's content words in order, lightly stemmed (plural "s")."""
    return [_stem(w) for w in _words(text) if w not in _STOP]


def _is_number(word: str) -> bool:
    return word.isdigit() or word in _NUMBER_WORDS


def _slot_values(text: str) -> dict[str, set[str]]:
    words = _words(text)
    found: dict[str, set[str]] = {}
    for i, word in enumerate(words):
        if _is_number(word):
            number = word if word.isdigit() else _NUMBER_WORDS[word]
            found.setdefault("number", set()).add(number.lstrip("0") or "0")
        for kind, values in _SLOTS.items():
            if word not in values:
                continue
            if kind == "period" and not word.endswith("ly") and word != "annual":
                if i == 0 or not (words[i - 1] in _PERIOD_LEAD or _is_number(words[i - 1])):
                    continue
            found.setdefault(kind, set()).add(values[word])
    return found


def _opposed(words_a: set[str], words_b: set[str]) -> bool:
    for one, other in _OPPOSITES:
        a_one, a_other, b_one, b_other = words_a & one, words_a & other, words_b & one, words_b & other
        if (a_one and not a_other and b_other and not b_one) or (
            a_other and not a_one and b_one and not b_other
        ):
            return True
    return False


def _swapped(approved: str, asked: str, a: list[str], b: list[str]) -> bool:
    """Two content words exchanged, with a directional word between them in both questions."""
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(differ) != 2 or a[differ[0]] != b[differ[1]] or a[differ[1]] != b[differ[0]]:
        return False
    first, second = a[differ[0]], a[differ[1]]

    def between(text: str, left: str, right: str) -> set[str]:
        stems = [_stem(w) for w in _words(text)]
        try:
            i = stems.index(left)
            j = stems.index(right, i + 1)
        except ValueError:
            return set()
        return set(_words(text)[i + 1 : j])

    return bool(
        between(approved, first, second) & _DIRECTIONAL and between(asked, second, first) & _DIRECTIONAL
    )


def different_question(approved: str, asked: str) -> str:
    """Why ``asked`` is not the question ``approved`` answered ("" when nothing says so)."""
    slots_a, slots_b = _slot_values(approved), _slot_values(asked)
    for kind in sorted(set(slots_a) | set(slots_b)):
        if slots_a.get(kind, set()) != slots_b.get(kind, set()):
            return f"{kind} differs"
    if _opposed(set(_words(approved)), set(_words(asked))):
        return "opposite asked"
    words_a, words_b = content_words(approved), content_words(asked)
    if sorted(words_a) == sorted(words_b) and _swapped(approved, asked, words_a, words_b):
        return "same words, roles swapped"
    return ""
