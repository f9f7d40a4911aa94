"""Which library documents an article links: its document blocks, and document links in its rich
text. Recorded with the page's index entry (``PageIndexState.linked_documents``), so a question
asked on the page searches them too, and its summary may cite them."""

from __future__ import annotations

import re

from .visibility import SOURCE

# Rich text stores a document link as <a linktype="document" id="12">, attributes in any order.
_LINK = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_DOCUMENT_TYPE = re.compile(r"""\blinktype\s*=\s*["']document["']""", re.IGNORECASE)
_ID = re.compile(r"""\bid\s*=\s*["'](\d+)["']""", re.IGNORECASE)


def rich_text_document_ids(source: str) -> list[int]:
    ids = []
    for tag in _LINK.findall(source or ""):
        if _DOCUMENT_TYPE.search(tag) and (found := _ID.search(tag)):
            ids.append(int(found.group(1)))
    return ids


def page_document_ids(page) -> list[int]:
    """Document ids the page's body links, in reading order, each once."""
    ids: list[int] = []
    for block in page.body:
        if block.block_type == "document":
            document = block.value.get("document")
            document_id = getattr(document, "pk", document)
            if document_id:
                ids.append(int(document_id))
        elif block.block_type == "paragraph":
            ids.extend(rich_text_document_ids(getattr(block.value, "source", str(block.value))))
    return list(dict.fromkeys(ids))


def page_document_refs(page) -> list[str]:
    """``PageIndexState.linked_documents`` entries: ``"wagtail:<id>"``."""
    return [f"{SOURCE}:{document_id}" for document_id in page_document_ids(page)]
