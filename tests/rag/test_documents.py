"""HTML, Markdown and text into neutral blocks (used by S3 ingest and import_pages)."""

from ai_core.rag.documents import blocks_to_segments, html_to_text, parse_document, parse_html, parse_markdown


def test_html_keeps_headings_paragraphs_lists_and_quotes_and_drops_scripts():
    title, blocks = parse_html(
        "<html><head><title>Refund terms</title><script>alert(1)</script></head><body>"
        "<nav>Home | About</nav><h2>When</h2><p>Within <b>30</b> days.</p>"
        "<ul><li>Annual plans</li><li>Monthly plans</li></ul><blockquote>No questions asked.</blockquote>"
        "</body></html>"
    )
    assert title == "Refund terms"
    assert [(b.kind, b.text or b.items) for b in blocks] == [
        ("heading", "When"),
        ("paragraph", "Within 30 days."),
        ("list", ["Annual plans", "Monthly plans"]),
        ("quote", "No questions asked."),
    ]


def test_html_title_falls_back_to_the_first_h1():
    title, blocks = parse_html("<h1>Security</h1><p>We encrypt data.</p>")
    assert title == "Security" and [b.text for b in blocks] == ["We encrypt data."]


def test_markdown_headings_lists_and_title():
    title, blocks = parse_markdown("# Guide\n\nIntro text\nover two lines.\n\n## Steps\n\n1. One\n2. Two\n")
    assert title == "Guide"
    assert [(b.kind, b.level, b.text, b.items, b.ordered) for b in blocks] == [
        ("paragraph", 0, "Intro text over two lines.", [], False),
        ("heading", 2, "Steps", [], False),
        ("list", 0, "", ["One", "Two"], True),
    ]


def test_plain_text_paragraphs_are_split_on_blank_lines():
    _, blocks = parse_document("First para\nstill first.\n\nSecond.", kind="text")
    assert [b.text for b in blocks] == ["First para still first.", "Second."]


def test_segments_carry_synthetic_block_ids_and_heading_levels():
    _, blocks = parse_markdown("## A\n\ntext\n\n- x\n- y")
    segments = blocks_to_segments(blocks)
    assert [(s.block_id, s.heading_level, s.units) for s in segments] == [
        ("d0", 2, ()),
        ("d1", 0, ()),
        ("d2", 0, ("x", "y")),
    ]


def test_rich_text_to_plain_text_one_paragraph_per_line():
    assert (
        html_to_text('<p>One &amp; <a linktype="page" id="3">two</a>.</p><p>Three.</p>')
        == "One & two.\nThree."
    )
