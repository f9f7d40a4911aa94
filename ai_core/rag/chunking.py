"""Structure-aware chunking: StreamField blocks (or document sections) in, embeddable chunks out.

Pure Python on purpose (no Django, no Wagtail): the page walker in ``content.indexing`` and the
document parser in ``ai_core.rag.documents`` both flatten their sources into ``Segment``s, and
this module alone decides where chunks start and end, so tests and benchmarks can drive it alone.

Rules, and why:
- A heading closes the current chunk. Sections are the unit editors think in, and a chunk that
  straddles two sections embeds to a blur of both.
- A sentence is never split. A list item counts as one sentence. A single sentence longer than the
  budget becomes its own (oversized) chunk rather than being cut: the embedder truncates its
  vector input, but full-text search and the model still see every word.
- The budget comes from the embedder's input window (``ChunkingConfig.for_window``), because
  all-MiniLM-L6-v2 reads 256 word pieces and silently drops the rest, while text-embedding-3-small
  reads 8k tokens but retrieves better on focused passages.
- Each chunk's embedded text starts with the page title and heading path ("contextual chunk
  header"), so "How long is it kept?" under "Data retention > Backups" embeds with its context.
- Chunks remember which block ids they cover, so citations can link to ``#block-<id>``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    "e.g i.e etc vs approx incl no nos dr mr mrs ms st ltd inc co corp dept fig art sec cl para jan feb mar apr "
    "jun jul aug sep sept oct nov dec".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD_PIECES = re.compile(r"\w+|[^\w\s]")

# Bump whenever a change here alters the chunks made from the same segments (boundaries, header,
# hash, token estimate): a re-index skips a source whose recorded fingerprint includes this
# number, so an unbumped change would leave every unchanged page chunked the old way.
CHUNKER_VERSION = 1


def estimate_tokens(text: str) -> int:
    """A deliberately pessimistic word-piece count for budgeting chunks.

    Counting words and punctuation and adding 25% for sub-word splits over-estimates the
    all-MiniLM-L6-v2 tokenizer on English prose (tests/rag/test_chunking.py checks this against
    the real tokenizer on the demo content), which is the safe direction: a chunk that is a little
    short loses nothing, one that is too long loses its tail from the vector.
    """
    return math.ceil(len(_WORD_PIECES.findall(text)) * 1.25)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; paragraph breaks always end a sentence."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        start = 0
        for match in _SENTENCE_END.finditer(paragraph):
            before = paragraph[start : match.start()].rstrip("\"')]")
            last_word = before.rsplit(" ", 1)[-1].rstrip(".!?").lower()
            if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
                continue  # "e.g. invoices", "J. Smith"
            sentences.append(paragraph[start : match.start()].strip())
            start = match.end()
        tail = paragraph[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


@dataclass(kw_only=True, frozen=True)
class Segment:
    """One source block flattened to text.

    ``heading_level`` > 0 marks a heading (1 = page-level, 2 = h2, ...). ``units`` lets a caller
    hand over pre-split sentences (list items); otherwise ``text`` is split into sentences here.
    ``break_before`` closes the current chunk first, like a heading but without changing the
    heading path: a PDF's new page, so each chunk is cited to one page.
    """

    block_id: str
    text: str = ""
    heading_level: int = 0
    units: tuple[str, ...] = ()
    break_before: bool = False

    def sentences(self) -> list[str]:
        if self.units:
            return [" ".join(u.split()) for u in self.units if u.strip()]
        return split_sentences(self.text)


@dataclass(kw_only=True, frozen=True)
class ChunkingConfig:
    """Chunk budget in (estimated) word pieces, per embedder."""

    max_tokens: int
    overlap_tokens: int
    # Reserved for the contextual header (title and heading path) inside the embedder's window.
    header_tokens: int = 32

    @classmethod
    def for_window(cls, max_input_tokens: int, *, cap: int = 480) -> ChunkingConfig:
        """Size chunks to the embedder's input window.

        Small windows (MiniLM: 256) are filled to what fits after the header and the two special
        tokens, minus a 10% margin; large ones (8k) are capped, because a 500-token passage
        retrieves better than an 8k one even when the model could read it. Overlap is one eighth.
        """
        header = 32
        usable = int((max_input_tokens - header - 2) * 0.9)
        size = max(32, min(cap, usable))
        return cls(max_tokens=size, overlap_tokens=size // 8, header_tokens=header)


@dataclass(kw_only=True, frozen=True)
class Chunk:
    position: int
    text: str
    heading_path: tuple[str, ...]
    block_ids: tuple[str, ...]
    embed_text: str
    token_estimate: int
    content_hash: str = field(default="")

    @property
    def anchor_block_id(self) -> str:
        """The first real block the chunk covers: the target of its citation link."""
        return next((b for b in self.block_ids if b), "")


def contextual_header(title: str, heading_path: Sequence[str]) -> str:
    return " > ".join([p for p in (title, *heading_path) if p])


def embed_text_for(*, title: str, heading_path: Sequence[str], text: str) -> str:
    header = contextual_header(title, heading_path)
    return f"{header}\n\n{text}" if header else text


def content_hash(embed_text: str) -> str:
    """What decides reuse: the exact text the embedder sees (header included)."""
    return hashlib.sha256(embed_text.encode("utf-8")).hexdigest()


@dataclass
class _Unit:
    block_id: str
    text: str
    tokens: int
    is_item: bool = False


class _Builder:
    def __init__(self, *, title: str, config: ChunkingConfig) -> None:
        self.title = title
        self.config = config
        self.chunks: list[Chunk] = []
        self.current: list[_Unit] = []
        self.path: tuple[str, ...] = ()
        self.pending_heading_id = ""
        # Units added since the last flush; the rest of ``current`` is overlap carried over.
        self.fresh = 0

    @property
    def current_tokens(self) -> int:
        return sum(u.tokens for u in self.current)

    def add(self, unit: _Unit) -> None:
        if self.current and self.current_tokens + unit.tokens > self.config.max_tokens:
            if self.fresh:
                self.flush(keep_overlap=True)
            if self.current_tokens + unit.tokens > self.config.max_tokens:
                self.current = []  # overlap is a nicety; it never pushes a sentence out alone
        self.current.append(unit)
        self.fresh += 1

    def flush(self, *, keep_overlap: bool = False) -> None:
        if not self.fresh:
            self.current = []
            return
        self._emit(self.current)
        self.fresh = 0
        overlap: list[_Unit] = []
        if keep_overlap and self.config.overlap_tokens:
            budget = self.config.overlap_tokens
            for unit in reversed(self.current[1:]):  # never carry the whole previous chunk
                if unit.tokens > budget:
                    break
                overlap.insert(0, unit)
                budget -= unit.tokens
        self.current = overlap

    def _emit(self, units: list[_Unit]) -> None:
        paragraphs: list[str] = []
        block_ids: list[str] = [self.pending_heading_id] if self.pending_heading_id else []
        self.pending_heading_id = ""
        previous_block = None
        for unit in units:
            if unit.block_id not in block_ids:
                block_ids.append(unit.block_id)
            if paragraphs and unit.block_id == previous_block:
                joiner = "\n" if unit.is_item else " "
                paragraphs[-1] = f"{paragraphs[-1]}{joiner}{unit.text}"
            else:
                paragraphs.append(unit.text)
            previous_block = unit.block_id
        text = "\n".join(paragraphs)
        embed = embed_text_for(title=self.title, heading_path=self.path, text=text)
        self.chunks.append(
            Chunk(
                position=len(self.chunks),
                text=text,
                heading_path=self.path,
                block_ids=tuple(block_ids),
                embed_text=embed,
                token_estimate=estimate_tokens(embed),
                content_hash=content_hash(embed),
            )
        )

    def heading(self, segment: Segment, stack: list[tuple[int, str]]) -> None:
        self.flush()
        while stack and stack[-1][0] >= segment.heading_level:
            stack.pop()
        stack.append((segment.heading_level, " ".join(segment.text.split())))
        self.path = tuple(text for _, text in stack)
        self.pending_heading_id = segment.block_id


def chunk_segments(segments: Iterable[Segment], *, title: str, config: ChunkingConfig) -> list[Chunk]:
    """Cut a page's (or document's) segments into chunks; see the module docstring for the rules."""
    builder = _Builder(title=title, config=config)
    stack: list[tuple[int, str]] = []
    for segment in segments:
        if segment.heading_level > 0:
            builder.heading(segment, stack)
            continue
        if segment.break_before:
            builder.flush()
        is_list = bool(segment.units)
        for sentence in segment.sentences():
            text = f"- {sentence}" if is_list else sentence
            builder.add(
                _Unit(block_id=segment.block_id, text=text, tokens=estimate_tokens(text), is_item=is_list)
            )
    builder.flush()
    return builder.chunks
