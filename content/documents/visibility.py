"""Who may read which document of the library: the one rule, written once.

A document is readable by visitors when no view restriction applies to its collection or any
ancestor collection (Wagtail's collection privacy: login, password or groups), and only on the
site its collection is mapped to (``LECTERN_DOCUMENTS["COLLECTION_SITES"]``), or on every site.
``visible_document_keys`` is what retrieval re-checks at query time
(``AI_CORE["RETRIEVAL"]["DOCUMENT_ACCESS_CHECK"]``); the indexer asks the same questions first.
"""

from __future__ import annotations

from collections.abc import Collection as Collection_
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.lookups import StartsWith
from wagtail.documents import get_document_model
from wagtail.models import Collection, CollectionViewRestriction, Site

from ai_core.rag.models import KnowledgeDocument

from .conf import documents_settings

SOURCE = KnowledgeDocument.Source.WAGTAIL
# A collection mapped to a site that does not exist: its documents are shown on no site at all,
# rather than on every site (a typo in the mapping must not publish them everywhere).
NO_SUCH_SITE = -1


def restricted_collection_exists():
    """``Exists`` over the view restrictions on a document's collection or any ancestor of it (a
    restriction applies to its collection's whole subtree: their paths start with its path)."""
    return Exists(
        CollectionViewRestriction.objects.filter(
            StartsWith(OuterRef("collection__path"), F("collection__path"))
        )
    )


def collection_sites() -> list[tuple[str, int]]:
    """``COLLECTION_SITES`` resolved to (collection path, site id), deepest collection first.
    Empty (no query) when nothing is mapped, which is the common case."""
    mapping = documents_settings().collection_sites
    if not mapping:
        return []
    names = [key for key in mapping if isinstance(key, str) and not key.isdigit()]
    ids = [int(key) for key in mapping if isinstance(key, int) or str(key).isdigit()]
    collections = Collection.objects.filter(Q(name__in=names) | Q(pk__in=ids)).values_list(
        "pk", "name", "path"
    )
    hosts = dict(Site.objects.values_list("hostname", "pk"))
    site_ids = set(hosts.values())
    resolved = []
    for pk, name, path in collections:
        target = mapping.get(name, mapping.get(pk, mapping.get(str(pk))))
        if target is None:
            continue
        if isinstance(target, int) or str(target).isdigit():
            site_id = int(target) if int(target) in site_ids else NO_SUCH_SITE
        else:
            site_id = hosts.get(str(target), NO_SUCH_SITE)
        resolved.append((path, site_id))
    return sorted(resolved, key=lambda item: -len(item[0]))


def site_for_collection_path(path: str, sites: list[tuple[str, int]]) -> int | None:
    """The site a collection's documents belong to (its nearest mapped ancestor's), or ``None``:
    every site."""
    return next((site_id for root, site_id in sites if path.startswith(root)), None)


def visible_document_keys(*, source: str, keys: Collection_[str], site_id: int | None) -> set[str]:
    """The documents among ``keys`` of ``source`` a visitor of site ``site_id`` may read now
    (``site_id`` None: of any site; 0: shared documents only). Sources other than the library are
    not this module's to judge and come back whole (an S3 row's scope is its own).

    Two queries for any number of documents (three with a collection-site mapping): it runs for
    every question whose candidates include a document.
    """
    if source != SOURCE:
        return set(keys)
    ids = {int(key) for key in keys if str(key).isdigit()}
    if not ids:
        return set()
    rows = (
        get_document_model()
        .objects.filter(pk__in=ids)
        .exclude(restricted_collection_exists())
        .values_list("pk", "collection__path")
    )
    sites = collection_sites()
    visible = set()
    for pk, path in rows:
        owner = site_for_collection_path(path, sites)
        if owner == NO_SUCH_SITE:
            continue
        if owner is None or site_id is None or owner == site_id:
            visible.add(str(pk))
    return visible


def document_access(document: Any) -> tuple[bool, int | None]:
    """``(public, site_id)`` of one document, read from the database now: whether visitors may read
    it at all, and the site it belongs to (``None``: every site; ``NO_SUCH_SITE``: none)."""
    collection = Collection.objects.filter(pk=document.collection_id).values_list("path", flat=True).first()
    if collection is None:
        return False, None
    restricted = CollectionViewRestriction.objects.filter(
        StartsWith(Value(collection), F("collection__path"))
    ).exists()
    return not restricted, site_for_collection_path(collection, collection_sites())


def document_ids_in_collection(collection: Collection) -> list[int]:
    """Documents in ``collection`` and every collection below it (a restriction added or lifted)."""
    return list(
        get_document_model()
        .objects.filter(collection__path__startswith=collection.path)
        .values_list("pk", flat=True)
    )
