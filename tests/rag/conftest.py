"""Fixtures for the RAG tests: a page tree, the fake embedder swapped in through settings, helpers."""

from __future__ import annotations

import pytest
from wagtail.models import Locale, Page, Site
from wagtail.rich_text import RichText

# Wagtail imports content.wagtail_hooks (the index-status URLs and buttons) when the admin loads;
# importing it here too is harmless (a module registers once) and makes sure the hooks are in place
# before the URLconf loads, i.e. at collection time.
import content.wagtail_hooks  # noqa: F401
from ai_core import providers
from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory

from .fakes import HashEmbedder


def _vacuum_chunk_table() -> None:
    """Earlier tests leave the chunk table full of dead rows (every rolled-back insert) until
    autovacuum gets to it, and when it has not, the planner's row estimate and the HNSW graph
    both describe those rows: an index scan can return none of the few live ones, and what a test
    retrieves depends on autovacuum's timing. Vacuumed (and analysed) on a connection of its own,
    outside the test's transaction, each test starts from the rows it makes."""
    import psycopg
    from django.db import connection

    from ai_core.rag.models import KnowledgeChunk

    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or None,
        autocommit=True,
    ) as raw:  # fmt: skip
        raw.execute(f'VACUUM (ANALYZE) "{KnowledgeChunk._meta.db_table}"')


@pytest.fixture
def fake_embedder(settings, django_db_blocker):
    """Use ``HashEmbedder`` as the default embedder (settings swap, as a project would configure it)."""
    with django_db_blocker.unblock():
        _vacuum_chunk_table()
    settings.AI_CORE = {
        **settings.AI_CORE,
        "EMBEDDERS": {**settings.AI_CORE["EMBEDDERS"], "fake": {"CLASS": "tests.rag.fakes.HashEmbedder"}},
        "DEFAULT_EMBEDDER": "fake",
        "PRICES": {
            **settings.AI_CORE["PRICES"],
            HashEmbedder.model: dict.fromkeys(("input", "output", "cache_read", "cache_write"), "0"),
        },
    }
    providers.reset_providers()
    HashEmbedder.calls = []
    yield providers.embedder()
    providers.reset_providers()


def ensure_wagtail_initial_data() -> Page:
    """Locale and root page, which a transactional test elsewhere may have flushed (``--reuse-db``)."""
    Locale.objects.get_or_create(language_code="en")
    return Page.get_first_root_node() or Page.add_root(title="Root", slug="root")


@pytest.fixture
def home(db):
    root = ensure_wagtail_initial_data()
    home = HomePageFactory(parent=root)
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    return home


@pytest.fixture
def section(home):
    return ArticleIndexPageFactory(parent=home, title="Guides", slug="guides")


def body(*items: tuple) -> list[tuple]:
    """Shorthand: ("h2", text) | ("p", text) | ("list", [items]) | ("quote", text)."""
    stream = []
    for kind, value in items:
        if kind in ("h2", "h3"):
            stream.append(("heading", {"text": value, "level": kind}))
        elif kind == "p":
            stream.append(("paragraph", RichText(f"<p>{value}</p>")))
        elif kind == "list":
            stream.append(("list", {"style": "ul", "items": value}))
        elif kind == "quote":
            stream.append(("quote", {"quote": value, "attribution": ""}))
    return stream


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """Create (or update) and publish an article, running the on-commit index task inline."""

    def _publish(parent, *, title: str, slug: str, items: list[tuple] | None = None, page=None, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            if page is None:
                page = ArticlePageFactory(
                    parent=parent, title=title, slug=slug, body=body(*(items or [])), **fields
                )
            else:
                page.title = title
                if items is not None:
                    page.body = body(*items)
                for name, value in fields.items():
                    setattr(page, name, value)
            page.save_revision().publish()
        page.refresh_from_db()
        return page

    return _publish
