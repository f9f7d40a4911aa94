"""Sentence splitting and light word counting for the extractive provider.

The extractive provider can only quote, so the unit it quotes must be a whole sentence: a split
inside "e.g. the" or "1.5 million" would put a half sentence in front of visitors. A regex pass
plus a few rules is enough for the editorial and policy prose Lectern holds, and avoids pulling in
NLTK or spaCy models, which would have to be downloaded at run time.
"""

from __future__ import annotations

import re

# Lower-cased, without the final dot. Only words that are routinely followed by a capital or a
# number in running text belong here; "etc." is left out on purpose, since it usually ends a sentence.
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "rev", "hon", "gen", "col",
        "capt", "lt", "sgt", "gov", "sen", "rep", "pres", "vs", "v", "cf", "viz", "approx", "ca",
        "no", "nos", "art", "arts", "sec", "secs", "para", "paras", "fig", "figs", "vol", "vols",
        "p", "pp", "ch", "chap", "ed", "eds", "ref", "reg", "dept", "est", "inc", "ltd", "co",
        "corp", "bros", "al", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
        "oct", "nov", "dec", "e.g", "i.e", "ph.d", "n.b", "op", "ibid",
    }
)  # fmt: skip

# Sentence-final punctuation (with closing quotes/brackets) followed by whitespace. A dot inside a
# number ("1.5") or a domain ("example.org") has no whitespace after it, so it never matches.
_END = re.compile(r"(?:[.!?…]+|[。！？]+)[\"'”’)\]»]*(?=\s)")
# Full-width CJK terminators end a sentence even without a following space.
_CJK_END = re.compile(r"[。！？](?=\S)")
_BLOCK_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-*•‣▪]|\d{1,3}[.)])[ \t])")
_LIST_MARKER = re.compile(r"^(?:[-*•‣▪]|\d{1,3}[.)])[ \t]+")
_WHITESPACE = re.compile(r"\s+")
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Z]\.){2,}$")  # "U.S.", "U.K."; "a.m." may end a sentence
_ENUMERATOR = re.compile(r"^(?:\d{1,3}|[A-Za-z]|[ivxlc]{1,5})[.)]$", re.IGNORECASE)
_OPENERS = "\"'“‘([«¿¡"
_WORD = re.compile(r"\w+|[^\w\s]")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences with whitespace collapsed, dropping empty pieces.

    Blank lines and list items always start a new sentence, because chunks of rendered pages are
    full of headings and bullets that carry no final punctuation.
    """
    sentences: list[str] = []
    for block in _BLOCK_BREAK.split(text):
        block = _LIST_MARKER.sub("", block.strip())
        block = _WHITESPACE.sub(" ", block).strip()
        if block:
            sentences.extend(_split_block(block))
    return sentences


def _split_block(block: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _iter_ends(block):
        end = match
        if _is_boundary(block, start, end):
            piece = block[start:end].strip()
            if piece:
                pieces.append(piece)
            start = end
    tail = block[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def _iter_ends(block: str) -> list[int]:
    ends = {m.end() for m in _END.finditer(block)} | {m.end() for m in _CJK_END.finditer(block)}
    return sorted(ends)


def _is_boundary(block: str, start: int, end: int) -> bool:
    """Decide whether the punctuation ending at ``end`` closes a sentence."""
    before = block[start:end].rstrip("\"'”’)]»")
    if before and before[-1] in "。！？":
        return True
    following = block[end:].lstrip()
    if not following:
        return True
    first = following[0]
    if first in _OPENERS and len(following) > 1:
        first = following[1]
    # A new sentence starts with a capital or a digit; lower case means "e.g. the", "approx. ten".
    # Caseless scripts (CJK, Arabic, ...) have no capitals, so any letter there counts.
    if not (first.isupper() or first.isdigit() or (first.isalpha() and not first.islower())):
        return False
    if not before.endswith("."):
        return True  # "!", "?" and "…" are never abbreviations.
    words = before.split()
    last = words[-1] if words else ""
    stem = last.rstrip(".").lstrip(_OPENERS).lower()
    if stem in ABBREVIATIONS or _DOTTED_ACRONYM.match(last.lstrip(_OPENERS)):
        return False
    # A single capital is an initial ("J. R. Tolkien"); a lone enumerator opening the block is a
    # list number ("1. Scope") rather than a one-word sentence.
    if len(stem) == 1 and stem.isalpha() and last[0].isupper():
        return False
    if len(words) == 1 and _ENUMERATOR.match(last):
        return False
    return True


def count_words(text: str) -> int:
    """Approximate a token count without a tokenizer: words and punctuation marks each count one."""
    return len(_WORD.findall(text))
