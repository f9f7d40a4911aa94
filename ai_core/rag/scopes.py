"""A question's scope (site and locale) written as SQL, and the partial HNSW index that serves one.

The retrieval query (``selectors``) and the scope index builder (``services.scope_indexes``) both
read these: PostgreSQL uses a partial index only when it can prove the index's predicate from the
query's WHERE, so both are written from the same clauses. The query also asks whether its scope's
index exists, by name, to choose its HNSW search breadth (``selectors._vector_search_sql``).
"""

from __future__ import annotations

import hashlib
import re

from .models import HNSW_INDEX_TYPE, INDEXED_DIMENSIONS, KnowledgeChunk

# The proof needs the values in the query text, which Django's psycopg backend gives by binding
# client-side (its default). ``{c}``: the table alias ("c." in a query, none in an index predicate).
SITE_SCOPE_SQL = "({c}site_id = {site} OR ({c}page_id IS NULL AND {c}site_id IS NULL))"
LOCALE_SCOPE_SQL = "{c}locale = {locale}"

PREFIX = "rag_scope_"
# Graph parameters of the per-dimension indexes (migration rag 0009): same recall per ef_search.
HNSW_OPTIONS = "m = 16, ef_construction = 128"
PLAIN_LOCALE = re.compile(r"^[A-Za-z0-9_@.-]{1,20}$")


def scope_index_predicate(*, dimensions: int, site_id: int, locale: str) -> str:
    """The scope's WHERE exactly as ``selectors._scope_sql`` writes it, values in place.

    ``locale`` must match ``PLAIN_LOCALE`` (it is written into SQL); the caller checks."""
    site = SITE_SCOPE_SQL.format(c="", site=int(site_id))
    language = LOCALE_SCOPE_SQL.format(c="", locale="'" + locale + "'")
    return f"dimensions = {int(dimensions)} AND {site} AND {language}"


def scope_index_definition(*, dimensions: int, site_id: int, locale: str) -> str:
    kind = HNSW_INDEX_TYPE
    return (
        f"ON {KnowledgeChunk._meta.db_table} USING hnsw ((embedding::{kind}({int(dimensions)})) "
        f"{kind}_cosine_ops) WITH ({HNSW_OPTIONS}) "
        f"WHERE {scope_index_predicate(dimensions=dimensions, site_id=site_id, locale=locale)}"
    )


def scope_index_name(*, dimensions: int, site_id: int, locale: str) -> str:
    """``rag_scope_<dims>_s<site>_<locale>_<hash>``: the hash covers the whole definition, so a
    change of index type, graph options or predicate gives a new name, and the old index is
    dropped as no longer wanted."""
    definition = scope_index_definition(dimensions=dimensions, site_id=site_id, locale=locale)
    digest = hashlib.sha256(definition.encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "", locale.lower())[:12]
    return f"{PREFIX}{int(dimensions)}_s{int(site_id)}_{slug}_{digest}"


def scope_index_for(*, dimensions: int, site_id: int | None, locale: str | None) -> str | None:
    """The name the index of this scope would have, or ``None`` when no scope index can serve it
    (no site or no locale, a vector size without an index, a locale not written into SQL)."""
    if (
        site_id is None
        or not locale
        or dimensions not in INDEXED_DIMENSIONS
        or not PLAIN_LOCALE.match(locale)
    ):
        return None
    return scope_index_name(dimensions=dimensions, site_id=site_id, locale=locale)
