import pytest

from content.markdown import MarkdownImportError, markdown_to_blocks, parse_markdown_document


def test_structure_becomes_blocks_in_order():
    blocks = markdown_to_blocks(
        "Intro text\nwrapped.\n\n## Costs\n\n- one\n- two\n\n### Detail\n\n1. first\n2. second\n\n"
        "> Notice text. — Legal team\n"
    )
    assert [b["type"] for b in blocks] == ["paragraph", "heading", "list", "heading", "list", "quote"]
    assert blocks[0]["value"] == "<p>Intro text wrapped.</p>"
    assert blocks[1]["value"] == {"text": "Costs", "level": "h2"}
    assert blocks[2]["value"] == {"style": "ul", "items": ["one", "two"]}
    assert blocks[3]["value"]["level"] == "h3"
    assert blocks[4]["value"]["style"] == "ol"
    assert blocks[5]["value"] == {"quote": "Notice text.", "attribution": "Legal team"}
    assert len({b["id"] for b in blocks}) == len(blocks)


def test_markup_in_text_is_escaped_not_interpreted():
    blocks = markdown_to_blocks("<script>alert(1)</script> & co")
    assert blocks[0]["value"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>"


def test_title_comes_from_front_matter_or_first_heading():
    assert parse_markdown_document("---\ntitle: A\nintro: B\n---\ntext").title == "A"
    doc = parse_markdown_document("# From heading\n\nBody text")
    assert doc.title == "From heading"
    assert [b["type"] for b in doc.blocks] == ["paragraph"]


def test_document_without_title_is_rejected():
    with pytest.raises(MarkdownImportError, match="no title"):
        parse_markdown_document("just text")
