"""Keep the knowledge index in step with the page tree. Connected in ``ContentConfig.ready()``.

Every receiver queues ``content.index_page`` after commit, with the page id only; the task reads
the page's state then and indexes, re-indexes or removes accordingly. The single exception is a
new view restriction: those chunks are removed at once (see ``pages_unindex_now``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from wagtail.models import Page

from .indexing import indexed_descendant_ids, pages_unindex_now


def enqueue_index(page_ids: Iterable[int]) -> None:
    """One task per page, sent once the surrounding transaction has committed."""
    from .tasks import index_page

    for page_id in sorted(set(page_ids)):
        transaction.on_commit(lambda page_id=page_id: index_page.delay(page_id))


def on_page_published(sender, instance, **kwargs) -> None:
    enqueue_index([instance.pk])


def on_page_unpublished(sender, instance, **kwargs) -> None:
    enqueue_index([instance.pk])


def on_page_deleted(sender, instance, **kwargs) -> None:
    enqueue_index([instance.pk])


def on_page_moved(sender, instance, url_path_before="", url_path_after="", **kwargs) -> None:
    """A move can change URL, site and privacy for the page and everything under it."""
    enqueue_index(indexed_descendant_ids(instance))


def on_section_slug_changed(sender, instance, **kwargs) -> None:
    """Descendants' URLs changed: refresh them (no re-embedding: their text did not change)."""
    enqueue_index(indexed_descendant_ids(instance, inclusive=False))


def _restricted_page(instance):
    # Looked up by id: when a page is deleted its restrictions go with it, and the page is gone.
    return Page.objects.filter(pk=instance.page_id).first()


def on_view_restriction_saved(sender, instance, **kwargs) -> None:
    if page := _restricted_page(instance):
        pages_unindex_now(page_ids=indexed_descendant_ids(page), reason="private")


def on_view_restriction_deleted(sender, instance, **kwargs) -> None:
    # Another restriction higher up may still apply; the task checks before indexing.
    if page := _restricted_page(instance):
        enqueue_index(indexed_descendant_ids(page))


def on_page_indexed(
    sender, page_id: int, chunks: int = 0, embedded: int = 0, removed: int = 0, **kwargs
) -> None:
    """A page's chunks changed (or it was indexed for the first time): summarise its live revision.
    A republish that changed nothing finds the existing summary and does nothing."""
    if not chunks:
        return
    from .tasks import summarize_page

    transaction.on_commit(lambda: summarize_page.delay(page_id))
