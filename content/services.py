"""Writes to the page tree, and the queueing of work on pages (indexing, summaries). Views,
commands, tasks and signal receivers call these; they hold no logic themselves."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from .models import ArticleIndexPage, ArticlePage, HomePage
from .tasks import index_page, summarize_page, summarize_page_force, unindex_page


def pages_index_enqueue(*, page_ids: Iterable[int]) -> None:
    """Queue ``content.index_page`` once per page, after the surrounding transaction commits: the
    task reads the page's state then (published, private, moved, deleted) and acts on it."""
    for page_id in sorted(set(page_ids)):
        transaction.on_commit(lambda page_id=page_id: index_page.delay(page_id))


def pages_unindex_enqueue(*, page_ids: Iterable[int]) -> None:
    """Queue the after-commit removal check (``content.unindex_page``) once per page, on the
    removals queue, so it never waits behind a re-index backlog. It removes, or hands a page that
    is public again by then to ``index_page``."""
    for page_id in sorted(set(page_ids)):
        transaction.on_commit(lambda page_id=page_id: unindex_page.delay(page_id))


def page_summary_enqueue(*, page_id: int) -> None:
    """Queue a summary of the page's live revision after commit; one that exists is kept."""
    transaction.on_commit(lambda: summarize_page.delay(page_id))


def page_summary_regenerate_enqueue(*, page_id: int) -> None:
    """Queue a fresh summary of the live revision now: the caller (the editor's "Regenerate
    summary") has written nothing for the task to wait for."""
    summarize_page_force.delay(page_id)


@transaction.atomic
def home_page_ensure(*, title: str = "Northwind Ledger help centre", intro: str = "") -> HomePage:
    """Make a ``HomePage`` the default site's root, replacing Wagtail's placeholder welcome page."""
    home = HomePage.objects.first()
    if home is None:
        # Wagtail's migrations create the default locale and the tree root; a database emptied since
        # (a flushed test database, a hand-cleaned one) gets them again.
        Locale.objects.get_or_create(
            language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
        )
        root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
        home = HomePage(title=title, slug="lectern-home", intro=intro)
        root.add_child(instance=home)
        home.save_revision().publish()
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname="localhost", port=80, root_page=home, is_default_site=True, site_name="Lectern"
        )
    elif site.root_page_id != home.pk:
        placeholder = site.root_page
        site.root_page = home
        site.site_name = site.site_name or "Lectern"
        site.save()
        # Wagtail's initial data ships a bare "Welcome" page; remove it once nothing points at it.
        if placeholder.specific_class is Page and not placeholder.get_children().exists():
            placeholder.delete()
    return home


def _child_by_slug(parent: Page, slug: str) -> Page | None:
    return parent.get_children().filter(slug=slug).first()


@transaction.atomic
def section_ensure(
    *, home: HomePage, title: str, slug: str = "", intro: str = ""
) -> tuple[ArticleIndexPage, bool]:
    slug = slug or slugify(title)
    existing = _child_by_slug(home, slug)
    if existing is not None:
        return existing.specific, False
    section = ArticleIndexPage(title=title, slug=slug, intro=intro)
    home.add_child(instance=section)
    section.save_revision().publish()
    return section, True


@transaction.atomic
def article_create_or_skip(
    *, parent: Page, title: str, slug: str = "", intro: str = "", blocks: list[dict], publish: bool = True
) -> tuple[ArticlePage, bool]:
    """Create and publish an article unless one with this slug exists under ``parent``.

    Returns ``(page, created)``. An existing page is left untouched: re-running an import must
    neither duplicate pages nor overwrite editors' changes.
    """
    slug = slug or slugify(title)
    existing = _child_by_slug(parent, slug)
    if existing is not None:
        return existing.specific, False
    page = ArticlePage(title=title, slug=slug, intro=intro, body=blocks)
    parent.add_child(instance=page)
    revision = page.save_revision()
    if publish:
        revision.publish()
    return page, True
