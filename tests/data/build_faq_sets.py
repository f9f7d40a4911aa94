"""Build retrieval test sets from third-party FAQs shipped as Debian documentation packages.

Our own labelled set (``rag_eval.json``) was written by the people who tuned retrieval on it;
these sets come from text nobody here wrote, so a setting that only fits our demo pages shows up.
Each FAQ question's section becomes one page and the question heading becomes the query. The
heading is left out of the page body and the page title is neutral (the chapter's name and the
entry's number), so the query never appears verbatim in what it has to find.

Stdlib only. Point it at the package's extracted files (``dpkg-deb -x PKG.deb DIR``) or at ``/``
when the package is installed::

    apt-get download debian-faq python3.11-doc
    dpkg-deb -x debian-faq_*.deb /tmp/faq && dpkg-deb -x python3.11-doc_*.deb /tmp/faq
    python3 tests/data/build_faq_sets.py debian-faq /tmp/faq
    python3 tests/data/build_faq_sets.py python-faq /tmp/faq

Each run writes ``<set>_pages.json`` (the JSON list ``manage.py import_pages`` reads) and
``<set>_eval.json`` (the labelled set ``manage.py rag_eval`` reads, negatives included) next to
this script, or into ``--out``.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

_VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "wbr", "source"}
_BLOCK = {"p", "pre", "li", "dt", "dd", "div", "tr", "table", "ul", "ol", "dl", "blockquote", "td", "th"}
_SKIP_TAGS = {"script", "style", "nav", "head"}
# Navigation, tables of contents and permalink marks are page furniture, not answer text.
_SKIP_CLASSES = {"toc", "navheader", "navfooter", "contents", "headerlink", "sphinxsidebar", "footnotes"}


@dataclass(kw_only=True)
class Section:
    level: int
    heading: str
    anchor: str
    blocks: list[str] = field(default_factory=list)


class _Sections(HTMLParser):
    """Splits one HTML file into sections at every heading of ``levels`` inside the content root."""

    def __init__(self, *, levels: set[int], is_root) -> None:
        super().__init__(convert_charrefs=True)
        self.levels = levels
        self.is_root = is_root
        self.sections: list[Section] = []
        self.chapter = ""
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, skips, is_root)
        self._buffer: list[str] = []
        self._heading: int | None = None
        self._heading_anchor = ""
        self._in_h1 = False

    @property
    def _skipping(self) -> bool:
        return any(skip for _, skip, _ in self._stack)

    @property
    def _in_root(self) -> bool:
        return any(root for _, _, root in self._stack)

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        self._buffer = []
        if not text:
            return
        if self._heading is not None:
            self.sections.append(Section(level=self._heading, heading=text, anchor=self._heading_anchor))
        elif self._in_h1:
            self.chapter = text
        elif self.sections:
            self.sections[-1].blocks.append(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        skips = tag in _SKIP_TAGS or bool(classes & _SKIP_CLASSES)
        if tag not in _VOID:
            self._stack.append((tag, skips, self.is_root(tag, attrs)))
        if self._skipping or not self._in_root:
            return
        level = int(tag[1]) if re.fullmatch(r"h[1-6]", tag) else None
        if level is not None:
            self._flush()
            if level in self.levels:
                self._heading, self._heading_anchor = level, ""
            elif level == 1:
                self._in_h1 = True
        elif tag in _BLOCK or tag == "br":
            self._flush()
        if self._heading is not None and not self._heading_anchor:
            self._heading_anchor = attrs.get("id") or ""

    def handle_endtag(self, tag):
        if tag in _VOID or not any(open_tag == tag for open_tag, _, _ in self._stack):
            return
        was_skipping, was_root = self._skipping, self._in_root
        while self._stack:
            open_tag, _, _ = self._stack.pop()
            if open_tag == tag:
                break
        if was_skipping or not was_root:
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading, self._in_h1 = None, False
        elif tag in _BLOCK:
            self._flush()

    def handle_data(self, data):
        if not self._skipping and self._in_root:
            self._buffer.append(data)


def sections_of(path: Path, *, levels: set[int], is_root) -> tuple[str, list[Section]]:
    parser = _Sections(levels=levels, is_root=is_root)
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    parser._flush()
    return parser.chapter, parser.sections


_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+")


@dataclass(kw_only=True)
class Entry:
    slug: str
    title: str
    query: str
    body: list[str]


def _body_html(blocks: list[str]) -> str:
    return "".join(f"<p>{html.escape(block)}</p>" for block in blocks)


def debian_faq(root: Path) -> tuple[list[Entry], list[Entry]]:
    """Every numbered section of the English Debian FAQ: questions and topic headings alike (a
    topic heading such as "dpkg" is a realistic short search). Returns (queries, distractors)."""
    folder = root / "usr/share/doc/debian/FAQ"
    files = sorted(folder.glob("*.en.html"))
    if not files:
        raise SystemExit(f"no *.en.html under {folder}: extract the debian-faq package there first")
    entries = []
    for file in files:
        if file.name == "index.en.html":
            continue
        chapter, sections = sections_of(
            file,
            levels={2, 3},
            is_root=lambda tag, attrs: tag == "div" and attrs.get("class") in {"chapter", "appendix"},
        )
        chapter = re.sub(r"^(Chapter|Appendix) \w+\.\s*", "", chapter)
        for section in sections:
            number = _NUMBER.match(section.heading)
            if not number or not section.blocks:
                continue
            query = section.heading[number.end() :].strip()
            entries.append(
                Entry(
                    slug=f"debian-faq-{number.group(1).replace('.', '-')}",
                    title=f"Debian FAQ: {chapter}, entry {number.group(1)}",
                    query=query,
                    body=section.blocks,
                )
            )
    return entries, []


def python_faq(root: Path) -> tuple[list[Entry], list[Entry]]:
    """Every question (a heading ending in "?") of the Python 3.11 FAQ. Sections under a heading
    that is not a question (category introductions) become distractor pages without a query."""
    folder = root / "usr/share/doc/python3.11/html/faq"
    files = sorted(f for f in folder.glob("*.html") if f.name != "index.html")
    if not files:
        raise SystemExit(f"no FAQ pages under {folder}: extract the python3.11-doc package there first")
    queries, distractors = [], []
    for file in files:
        chapter, sections = sections_of(
            file, levels={2, 3, 4}, is_root=lambda tag, attrs: attrs.get("role") == "main"
        )
        chapter = chapter.replace("¶", "").strip()
        for n, section in enumerate(sections, start=1):
            if not section.blocks:
                continue
            heading = section.heading.replace("¶", "").strip()
            entry = Entry(
                slug=f"python-faq-{file.stem}-{n}",
                title=f"Python FAQ: {chapter}, entry {n}",
                query=heading,
                body=section.blocks,
            )
            (queries if heading.endswith("?") else distractors).append(entry)
    return queries, distractors


# Questions neither FAQ answers (nor our demo site): off-topic ones, and ones near each FAQ's
# domain that its text does not cover. They test the minimum-score floor ("I don't know").
NEGATIVES = {
    "debian-faq": [
        "How do I bake a sourdough loaf with a crisp crust?",
        "What is the best time of year to plant tulip bulbs?",
        "How many calories does a marathon runner burn?",
        "Who won the football world cup in 1966?",
        "How do I remove a red wine stain from a carpet?",
        "What is the capital city of Australia?",
        "How long should I boil an egg for a runny yolk?",
        "Which vaccines does a puppy need in its first year?",
        "How do I change a flat tyre on a bicycle?",
        "What is the airspeed of a migrating swallow?",
        "How do I activate my Windows 11 licence key?",
        "How do I jailbreak an iPhone?",
        "Which graphics card gives the most frames per second in Fortnite?",
        "How do I reset the password of my Gmail account?",
        "What does an Excel VLOOKUP formula return when nothing matches?",
        "How do I configure VLANs on a Cisco switch?",
        "How much does a Microsoft Azure virtual machine cost per hour?",
        "How do I recover deleted photos from an Android phone's SD card?",
    ],
    "python-faq": [
        "How do I bake a sourdough loaf with a crisp crust?",
        "What is the best time of year to plant tulip bulbs?",
        "How many calories does a marathon runner burn?",
        "Who won the football world cup in 1966?",
        "How do I remove a red wine stain from a carpet?",
        "What is the capital city of Australia?",
        "How long should I boil an egg for a runny yolk?",
        "Which vaccines does a puppy need in its first year?",
        "How do I change a flat tyre on a bicycle?",
        "What is the airspeed of a migrating swallow?",
        "How do I centre a div horizontally with CSS flexbox?",
        "What is the difference between a JavaScript promise and a callback?",
        "How do I declare a pointer to a function in Rust?",
        "How do I write a stored procedure in Oracle PL/SQL?",
        "Which Excel formula sums a column only where another column matches?",
        "How do I set up a Kubernetes ingress controller?",
        "How do I make a pivot table in Google Sheets?",
        "How do I create a React component with hooks?",
    ],
}

BUILDERS = {"debian-faq": debian_faq, "python-faq": python_faq}
SOURCES = {
    "debian-faq": "Debian package debian-faq (the English HTML in /usr/share/doc/debian/FAQ/)",
    "python-faq": "Debian package python3.11-doc (/usr/share/doc/python3.11/html/faq/)",
}


def build(name: str, root: Path) -> tuple[list[dict], dict]:
    queries, distractors = BUILDERS[name](root)
    by_query: dict[str, list[str]] = {}
    for entry in queries:
        # The same heading in two places (e.g. "aptitude" under two chapters): both answer it.
        by_query.setdefault(entry.query, []).append(entry.slug)
    pages = [
        {"title": e.title, "slug": e.slug, "body": _body_html(e.body)}
        for e in sorted(queries + distractors, key=lambda e: e.slug)
    ]
    labelled = {
        "source": SOURCES[name],
        "built_by": "tests/data/build_faq_sets.py",
        "queries": [{"query": q, "relevant": slugs} for q, slugs in by_query.items()]
        + [{"query": q, "relevant": []} for q in NEGATIVES[name]],
    }
    return pages, labelled


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", choices=sorted(BUILDERS))
    parser.add_argument("root", type=Path, help="where the package's files are (/ if installed)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    pages, labelled = build(args.set, args.root)
    stem = args.set.replace("-", "_")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}_pages.json").write_text(json.dumps(pages, indent=1, ensure_ascii=False) + "\n")
    (args.out / f"{stem}_eval.json").write_text(json.dumps(labelled, indent=1, ensure_ascii=False) + "\n")
    positives = sum(1 for q in labelled["queries"] if q["relevant"])
    print(
        f"{args.set}: {len(pages)} pages, {positives} queries, "
        f"{len(labelled['queries']) - positives} negatives -> {args.out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
