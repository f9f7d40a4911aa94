"""Keep the knowledge index in step with the page tree. ``register_signal_handlers()`` connects
the receivers (from ``ContentConfig.ready()``), with explicit senders as wagtail.contrib.frontend_cache does.

Every receiver queues ``content.index_page`` (or, for a page leaving visitors' reach,
``content.unindex_page``, on the removals queue) after commit, with the page id only; the task
reads the page's state then and indexes, re-indexes or removes accordingly, under the page's
source lock (``unindex_page`` only removes: a page public again goes back to ``index_page``). Whatever takes a page away from visitors (a view restriction, unpublish, delete, a move
somewhere private or unroutable) also removes its chunks at once (``pages_unindex_now``); the
queued task is the after-commit re-check that wins even when that removal found the page locked
by an index run. Retrieval re-checks every page at query time besides, so neither the queue nor
a lost race can serve a page a visitor may no longer read.
"""

from __future__ import annotations

from wagtail.models import Page

from .indexing import indexed_descendant_ids, pages_unindex_now
from .services import page_summary_enqueue, pages_index_enqueue, pages_unindex_enqueue
from .site_hosts import site_hosts_changed
from .visibility import visible_page_ids


def on_page_published(sender, instance, **kwargs) -> None:
    pages_index_enqueue(page_ids=[instance.pk])


def on_page_unpublished(sender, instance, **kwargs) -> None:
    pages_unindex_now(page_ids=[instance.pk], reason="unpublished")
    pages_unindex_enqueue(page_ids=[instance.pk])


def on_page_deleted(sender, instance, **kwargs) -> None:
    pages_unindex_now(page_ids=[instance.pk], reason="deleted")
    pages_unindex_enqueue(page_ids=[instance.pk])


def _refresh(page_ids: list[int], *, reason: str) -> None:
    """What is now private or in no site goes at once, the rest is re-indexed (new URL, new site)."""
    hidden = set(page_ids) - visible_page_ids(page_ids=page_ids, site_id=None)
    pages_unindex_now(page_ids=sorted(hidden), reason=reason)
    pages_unindex_enqueue(page_ids=hidden)
    pages_index_enqueue(page_ids=set(page_ids) - hidden)


def on_page_moved(sender, instance, url_path_before="", url_path_after="", **kwargs) -> None:
    """A move can change URL, site and privacy for the page and everything under it."""
    _refresh(indexed_descendant_ids(instance), reason="moved")


def on_site_changed(sender, instance, **kwargs) -> None:
    """A site's root page, hostname or default flag decides which site every page belongs to and
    its URL; a deleted site leaves its tree routable nowhere. Sites are few and rarely edited, so
    the whole tree is refreshed: pages whose index entry still holds are skipped without chunking."""
    site_hosts_changed()  # which site serves a host may have changed too
    _refresh(indexed_descendant_ids(Page.get_first_root_node()), reason="unroutable")


def on_migrated(sender, **kwargs) -> None:
    site_hosts_changed()


def on_section_slug_changed(sender, instance, **kwargs) -> None:
    """Descendants' URLs changed: refresh them (no re-embedding: their text did not change)."""
    pages_index_enqueue(page_ids=indexed_descendant_ids(instance, inclusive=False))


def _restricted_page(instance):
    # Looked up by id: when a page is deleted its restrictions go with it, and the page is gone.
    return Page.objects.filter(pk=instance.page_id).first()


def on_view_restriction_saved(sender, instance, **kwargs) -> None:
    if page := _restricted_page(instance):
        page_ids = indexed_descendant_ids(page)
        pages_unindex_now(page_ids=page_ids, reason="private")
        # Re-checked after commit, under the lock an index run may hold now.
        pages_unindex_enqueue(page_ids=page_ids)


def on_view_restriction_deleted(sender, instance, **kwargs) -> None:
    # Another restriction higher up may still apply; the task checks before indexing.
    if page := _restricted_page(instance):
        pages_index_enqueue(page_ids=indexed_descendant_ids(page))


def on_page_indexed(
    sender, page_id: int, chunks: int = 0, embedded: int = 0, removed: int = 0, **kwargs
) -> None:
    """A page's chunks changed (or it was indexed for the first time): summarise its live revision.
    A republish that changed nothing finds the existing summary and does nothing."""
    if not chunks:
        return
    page_summary_enqueue(page_id=page_id)


def register_signal_handlers() -> None:
    """Connect the receivers above, each with its sender.

    ``page_published`` rather than the ``after_publish_page`` hook: the signal fires on every
    publish route (edit view, bulk action, workflow approval, ``publish_scheduled``).
    """
    from django.apps import apps
    from django.db.models.signals import post_delete, post_migrate, post_save
    from wagtail.models import PageViewRestriction, Site
    from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

    from ai_core.rag.api import page_indexed
    from ai_core.rag.models import PageIndexState

    from .models import ArticleIndexPage, ArticlePage, HomePage

    uid = "content.rag"
    page_published.connect(on_page_published, sender=ArticlePage, dispatch_uid=f"{uid}.published")
    page_unpublished.connect(on_page_unpublished, sender=ArticlePage, dispatch_uid=f"{uid}.unpublished")
    post_delete.connect(on_page_deleted, sender=ArticlePage, dispatch_uid=f"{uid}.deleted")
    for model in (ArticlePage, ArticleIndexPage):
        post_page_move.connect(on_page_moved, sender=model, dispatch_uid=f"{uid}.moved.{model.__name__}")
    for model in (ArticleIndexPage, HomePage):
        page_slug_changed.connect(
            on_section_slug_changed, sender=model, dispatch_uid=f"{uid}.slug.{model.__name__}"
        )
    page_indexed.connect(on_page_indexed, sender=PageIndexState, dispatch_uid="content.summaries.indexed")
    post_save.connect(on_view_restriction_saved, sender=PageViewRestriction, dispatch_uid=f"{uid}.restricted")
    post_save.connect(on_site_changed, sender=Site, dispatch_uid=f"{uid}.site.saved")
    post_delete.connect(on_site_changed, sender=Site, dispatch_uid=f"{uid}.site.deleted")
    # A migration or a flush (tests) can change sites without model signals.
    post_migrate.connect(on_migrated, sender=apps.get_app_config("content"), dispatch_uid=f"{uid}.migrated")
    post_delete.connect(
        on_view_restriction_deleted, sender=PageViewRestriction, dispatch_uid=f"{uid}.unrestricted"
    )
