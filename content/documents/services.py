"""Queueing work on library documents. Receivers, admin views and commands call these."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from .tasks import index_document, unindex_document


def documents_index_enqueue(*, document_ids: Iterable[int]) -> None:
    """Queue ``content.index_document`` once per document after the surrounding transaction
    commits: the task reads the document's state then (uploaded, replaced, private, deleted)."""
    for document_id in sorted(set(document_ids)):
        transaction.on_commit(lambda document_id=document_id: index_document.delay(document_id))


def documents_unindex_enqueue(*, document_ids: Iterable[int]) -> None:
    """Queue the after-commit removal check (``content.unindex_document``, the removals queue)."""
    for document_id in sorted(set(document_ids)):
        transaction.on_commit(lambda document_id=document_id: unindex_document.delay(document_id))
