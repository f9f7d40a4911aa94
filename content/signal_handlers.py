"""Keep the knowledge index in step with the page tree. Connected in ``ContentConfig.ready()``.

Every receiver queues ``content.index_page`` after commit, with the page id only; the task reads
the page's state then and indexes, re-indexes or removes accordingly, under the page's source
lock. Whatever takes a page away from visitors (a view restriction, unpublish, delete, a move
somewhere private or unroutable) also removes its chunks at once (``pages_unindex_now``); the
queued task is the after-commit re-check that wins even when that removal found the page locked
by an index run. Retrieval re-checks every page at query time besides, so neither the queue nor
a lost race can serve a page a visitor may no longer read.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from wagtail.models import Page

from .indexing import indexed_descendant_ids, pages_unindex_now
from .visibility import visible_page_ids


def enqueue_index(page_ids: Iterable[int]) -> None:
    """One task per page, sent once the surrounding transaction has committed."""
    from .tasks import index_page

    for page_id in sorted(set(page_ids)):
        transaction.on_commit(lambda page_id=page_id: index_page.delay(page_id))


def on_page_published(sender, instance, **kwargs) -> None:
    enqueue_index([instance.pk])


def on_page_unpublished(sender, instance, **kwargs) -> None:
    pages_unindex_now(page_ids=[instance.pk], reason="unpublished")
    enqueue_index([instance.pk])


def on_page_deleted(sender, instance, **kwargs) -> None:
    pages_unindex_now(page_ids=[instance.pk], reason="deleted")
    enqueue_index([instance.pk])


def on_page_moved(sender, instance, url_path_before="", url_path_after="", **kwargs) -> None:
    """A move can change URL, site and privacy for the page and everything under it: what is now
    private or in no site goes at once, the rest is re-indexed (new URL, new site)."""
    page_ids = indexed_descendant_ids(instance)
    hidden = set(page_ids) - visible_page_ids(page_ids=page_ids, site_id=None)
    pages_unindex_now(page_ids=sorted(hidden), reason="moved")
    enqueue_index(page_ids)


def on_section_slug_changed(sender, instance, **kwargs) -> None:
    """Descendants' URLs changed: refresh them (no re-embedding: their text did not change)."""
    enqueue_index(indexed_descendant_ids(instance, inclusive=False))


def _restricted_page(instance):
    # Looked up by id: when a page is deleted its restrictions go with it, and the page is gone.
    return Page.objects.filter(pk=instance.page_id).first()


def on_view_restriction_saved(sender, instance, **kwargs) -> None:
    if page := _restricted_page(instance):
        page_ids = indexed_descendant_ids(page)
        pages_unindex_now(page_ids=page_ids, reason="private")
        enqueue_index(page_ids)  # re-checked after commit, under the lock an index run may hold now


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
