"""The pure chunker: sentence and heading boundaries, block ids, headers, budgets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_core.rag.chunking import ChunkingConfig, Segment, chunk_segments, estimate_tokens, split_sentences

SMALL = ChunkingConfig(max_tokens=40, overlap_tokens=10)


def sentences(n: int, prefix: str = "Sentence") -> str:
    return " ".join(f"{prefix} number {i} says something short about refunds." for i in range(n))


def test_abbreviations_and_initials_do_not_end_a_sentence():
    text = "Keep records, e.g. invoices and receipts. Ask J. Smith at Northwind Ltd. about it! Done."
    assert split_sentences(text) == [
        "Keep records, e.g. invoices and receipts.",
        "Ask J. Smith at Northwind Ltd. about it!",
        "Done.",
    ]


def test_no_chunk_ever_ends_mid_sentence():
    segment = Segment(block_id="b1", text=sentences(12))
    chunks = chunk_segments([segment], title="Refunds", config=SMALL)
    assert len(chunks) > 2
    originals = set(split_sentences(segment.text))
    for chunk in chunks:
        assert set(split_sentences(chunk.text)) <= originals
        assert chunk.token_estimate <= SMALL.max_tokens + estimate_tokens("Refunds\n\n") + 1


def test_a_heading_closes_the_chunk_and_sets_the_heading_path():
    chunks = chunk_segments(
        [
            Segment(block_id="intro", text="A short introduction."),
            Segment(block_id="h-a", text="Retention periods", heading_level=2),
            Segment(block_id="p1", text="Backups are kept for 35 days."),
            Segment(block_id="h-b", text="Legal holds", heading_level=3),
            Segment(block_id="p2", text="A court order pauses deletion."),
            Segment(block_id="h-c", text="Review", heading_level=2),
            Segment(block_id="p3", text="Reviewed every year."),
        ],
        title="Data Retention",
        config=ChunkingConfig(max_tokens=200, overlap_tokens=20),
    )
    assert [c.heading_path for c in chunks] == [
        (),
        ("Retention periods",),
        ("Retention periods", "Legal holds"),
        ("Review",),
    ]
    # The heading's own block id comes first, so the citation anchor lands on the section heading.
    assert [c.block_ids for c in chunks] == [("intro",), ("h-a", "p1"), ("h-b", "p2"), ("h-c", "p3")]
    assert chunks[2].anchor_block_id == "h-b"


def test_embedded_text_starts_with_the_page_title_and_heading_path():
    chunks = chunk_segments(
        [
            Segment(block_id="h", text="Backups", heading_level=2),
            Segment(block_id="p", text="Kept for 35 days."),
        ],
        title="Data Retention",
        config=SMALL,
    )
    assert chunks[0].embed_text == "Data Retention > Backups\n\nKept for 35 days."
    assert chunks[0].text == "Kept for 35 days."


def test_list_items_are_whole_units_and_keep_their_block_id():
    chunks = chunk_segments(
        [Segment(block_id="list-1", units=("Open settings", "Choose Billing", "Click Cancel plan"))],
        title="Cancel",
        config=SMALL,
    )
    assert chunks[0].text == "- Open settings\n- Choose Billing\n- Click Cancel plan"
    assert chunks[0].block_ids == ("list-1",)


def test_consecutive_chunks_overlap_by_whole_sentences():
    config = ChunkingConfig(max_tokens=40, overlap_tokens=15)
    chunks = chunk_segments([Segment(block_id="b", text=sentences(10))], title="T", config=config)
    first, second = split_sentences(chunks[0].text), split_sentences(chunks[1].text)
    assert second[0] == first[-1]


def test_an_oversized_sentence_becomes_its_own_chunk_rather_than_being_cut():
    long_sentence = "This sentence " + "goes on and on " * 30 + "until it ends."
    chunks = chunk_segments(
        [Segment(block_id="a", text="Short one."), Segment(block_id="b", text=long_sentence)],
        title="T",
        config=SMALL,
    )
    assert [c.text for c in chunks] == ["Short one.", " ".join(long_sentence.split())]


def test_budget_follows_the_embedder_window():
    minilm = ChunkingConfig.for_window(256)
    openai = ChunkingConfig.for_window(8191)
    assert minilm.max_tokens + minilm.header_tokens + 2 <= 256
    assert 150 <= minilm.max_tokens < 256
    assert openai.max_tokens == 480
    assert minilm.overlap_tokens == minilm.max_tokens // 8


def test_identical_text_hashes_identically_and_header_changes_the_hash():
    seg = [Segment(block_id="x", text="Same words.")]
    a = chunk_segments(seg, title="A", config=SMALL)[0]
    again = chunk_segments([Segment(block_id="other-id", text="Same words.")], title="A", config=SMALL)[0]
    b = chunk_segments(seg, title="B", config=SMALL)[0]
    assert a.content_hash == again.content_hash  # block ids do not decide reuse
    assert a.content_hash != b.content_hash  # the contextual header does


def test_estimate_never_undercounts_the_real_minilm_tokenizer_on_the_demo_content():
    """Chunks are budgeted with an estimate; it must stay on the safe side of the real tokenizer."""
    tokenizers = pytest.importorskip("tokenizers")
    from ai_core.providers.local.minilm import TOKENIZER_FILE, default_model_dir
    from ai_core.rag.documents import html_to_text
    from content.markdown import parse_markdown_document

    tokenizer = tokenizers.Tokenizer.from_file(str(default_model_dir() / TOKENIZER_FILE))
    tokenizer.no_truncation()
    tokenizer.no_padding()  # the shipped tokenizer.json pads everything to 128
    config = ChunkingConfig.for_window(256)
    demo = Path(__file__).resolve().parents[2] / "content" / "demo_content"
    checked = 0
    for path in sorted(demo.glob("*/*.md")):
        if path.name == "_index.md":
            continue
        doc = parse_markdown_document(path.read_text())
        segments = []
        for block in doc.blocks:
            value = block["value"]
            if block["type"] == "heading":
                segments.append(Segment(block_id=block["id"], text=value["text"], heading_level=2))
            elif block["type"] == "list":
                segments.append(Segment(block_id=block["id"], units=tuple(value["items"])))
            else:
                segments.append(Segment(block_id=block["id"], text=html_to_text(str(value))))
        for chunk in chunk_segments(segments, title=doc.title, config=config):
            real = len(tokenizer.encode(chunk.embed_text).ids)
            assert real <= chunk.token_estimate, (real, chunk.token_estimate, chunk.embed_text[:80])
            assert real <= 256, chunk.embed_text[:80]
            checked += 1
    assert checked > 100
