"""Reading the knowledge store: hybrid retrieval, a page's own chunks, index status.

``retrieve`` is the one search every feature uses. It runs an HNSW vector search, rescores its
candidates by the question's terms they contain and the similarity of their page neighbours
(``fusion.lexical_rescore``; ``LEXICAL = "full_text"`` fuses a second, full-text query with
``fusion.weighted_rrf`` instead), drops whatever scores under ``min_score``, and reads the chosen
chunks with their excerpts: three statements a question. Only chunks of the *current* embedder
are compared, and the vector query filters on the vector size too, so vectors of different
embedders never meet.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

import psycopg
from django.db import NotSupportedError, connection
from django.db.models import Q

from ai_core import conf, providers

from .conf import RetrievalSettings, document_access_check, page_access_check, retrieval_settings
from .fusion import Candidate, Fused, Ranked, lexical_rescore, select, term_weights, weighted_rrf
from .models import HNSW_INDEX_TYPE, INDEXED_DIMENSIONS, KnowledgeChunk, KnowledgeDocument, PageIndexState
from .scopes import LOCALE_SCOPE_SQL, SITE_SCOPE_SQL, scope_index_for

_TABLE = KnowledgeChunk._meta.db_table
_DOCUMENT_TABLE = KnowledgeDocument._meta.db_table
# ``site=NO_SITE``: a question asked outside any site searches documents shared by every site and
# nothing else (no Site has id 0). ``site=None`` still means "every site" (commands, benchmarks).
NO_SITE = 0


class IndexEmbedderMismatchError(RuntimeError):
    """The index holds vectors from another embedder than the one configured now."""


@dataclass(kw_only=True, frozen=True)
class RetrievedChunk:
    chunk_id: int
    page_id: int | None
    document_id: int | None
    title: str
    heading_path: str
    text: str
    snippet: str
    url: str  # page URL + "#block-<id>" (documents: their source URL)
    score: float
    vector_similarity: float | None = None
    text_coverage: float | None = None
    block_ids: tuple[str, ...] = field(default=())
    page: int | None = None  # a document chunk's page (PDF), which ``url`` links with ``#page=N``


def page_linked_document_ids(*, page_id: int) -> list[int]:
    """The stored documents page ``page_id`` links (``PageIndexState.linked_documents``), by id.

    Resolved now rather than when the page was indexed, so a document indexed after the page (or
    re-created under a new id) still counts; one query.
    """
    refs = PageIndexState.objects.filter(page_id=page_id).values_list("linked_documents", flat=True).first()
    wanted = [tuple(ref.split(":", 1)) for ref in refs or () if ":" in ref]
    if not wanted:
        return []
    match = Q()
    for source, key in wanted:
        match |= Q(source=source, key=key)
    return sorted(KnowledgeDocument.objects.filter(match).values_list("pk", flat=True))


def _scope_sql(*, site: Any, locale: Any, within_page: Any) -> tuple[str, list]:
    """WHERE clauses shared by both retrievers. ``None`` means "any" for site and locale.

    ``within_page``: that page's chunks and those of the documents it links."""
    clauses, params = [], []
    site_id = getattr(site, "pk", site)
    if site_id is not None:
        # Documents with no site are shared by every site.
        clauses.append(SITE_SCOPE_SQL.format(c="c.", site="%s"))
        params.append(int(site_id))
    language = getattr(locale, "language_code", locale)
    if language:
        clauses.append(LOCALE_SCOPE_SQL.format(c="c.", locale="%s"))
        params.append(str(language))
    page_id = getattr(within_page, "pk", within_page)
    if page_id is not None:
        documents = page_linked_document_ids(page_id=int(page_id))
        if documents:
            clauses.append("(c.page_id = %s OR c.document_id = ANY(%s))")
            params.extend([int(page_id), documents])
        else:
            clauses.append("c.page_id = %s")
            params.append(int(page_id))
    return "".join(f" AND {c}" for c in clauses), params


def _scope_index(*, site: Any, locale: Any, within_page: Any, dimensions: int) -> str | None:
    """The partial index that may serve a question in this site and locale (``scopes``), by name.

    None within one page: that filter is narrower than any scope, and the breadth stays EF_SEARCH."""
    if getattr(within_page, "pk", within_page) is not None:
        return None
    site_id = getattr(site, "pk", site)
    language = getattr(locale, "language_code", locale)
    return scope_index_for(
        dimensions=dimensions,
        site_id=None if site_id is None else int(site_id),
        locale=str(language) if language else None,
    )


def vector_query_sql(dims: int, where: str = "", *, index_type: str = HNSW_INDEX_TYPE) -> str:
    """The nearest-neighbour query; it takes the query vector twice (distance, then ordering).

    The ordering's cast and the ``dimensions`` filter must read exactly like the partial HNSW
    index (``models.HNSW_INDEX_TYPE``) for the planner to use it; a test EXPLAINs this. The
    distance is computed at full precision from the stored vector: a halfvec index decides which
    rows are candidates, never their scores, so the fusion's evidence and MIN_SCORE keep their
    meaning. ``index_type`` is for the benchmark, which times both index types side by side.
    """
    if dims in INDEXED_DIMENSIONS:
        order = f"(c.embedding::{index_type}({dims})) <=> %s::{index_type}({dims})"
        distance = f"(c.embedding::vector({dims})) <=> %s::vector({dims})"
    else:  # no index of this size yet: an exact scan
        order = distance = f"c.embedding <=> %s::vector({dims})"
    return (
        f"WITH v AS MATERIALIZED (SELECT c.id, {distance} AS distance "  # noqa: S608
        f"FROM {_TABLE} c WHERE c.embedder_id = %s AND c.dimensions = {dims}{where} "
        f"ORDER BY {order} LIMIT %s) SELECT id, distance FROM v ORDER BY distance"
    )


def _vector_search_sql(
    vector: Sequence[float],
    *,
    embedder_id: str,
    scope: tuple[str, list],
    limit: int,
    ef_search: int,
    scope_index: str | None = None,
    scope_ef_search: int | None = None,
    iterative_scan: str = "relaxed_order",
    max_scan_tuples: int = 20_000,
    index_type: str = HNSW_INDEX_TYPE,
) -> tuple[str, list]:
    """The vector search as one string of two statements, and its parameters: the HNSW settings,
    then the nearest-neighbour query (two result sets; the candidates are the second).

    The settings are transaction-local (set_config(..., true) = SET LOCAL, and binds as a
    parameter), sent with the query in one string: Django's cursors use the simple query protocol,
    which runs a string of statements as one implicit transaction, so they hold for this query and
    no other, with no BEGIN, COMMIT or separate round trip. Filters (site, locale, page) are applied
    during the index scan; an iterative scan (pgvector >= 0.8) keeps walking the graph until the
    LIMIT is filled or ``max_scan_tuples`` were visited, instead of returning the few of
    ef_search's candidates that pass a selective filter.

    ``scope_index``: the name the partial index of the question's scope would have
    (``scopes.scope_index_for``). While that index exists and is valid, the walk uses
    ``scope_ef_search`` instead: the settings statement looks the name up in the catalog (one
    index probe), so an index built, dropped or left invalid by a failed build counts from the next
    question on, with nothing cached here.
    """
    where, params = scope
    text = _vector_literal(vector)
    sql = vector_query_sql(len(vector), where, index_type=index_type)
    breadth, breadth_params = "%s", [str(max(ef_search, limit))]
    if scope_index is not None and scope_ef_search is not None and scope_ef_search != ef_search:
        breadth = (
            "CASE WHEN (SELECT x.indisvalid FROM pg_index x WHERE x.indexrelid = to_regclass(%s)) "
            "THEN %s ELSE %s END"
        )
        breadth_params = [scope_index, str(max(scope_ef_search, limit)), *breadth_params]
    return (
        f"SELECT set_config('hnsw.ef_search', {breadth}, true), set_config('hnsw.iterative_scan', %s, true), "
        f"set_config('hnsw.max_scan_tuples', %s, true); {sql}",
        [
            *breadth_params,
            iterative_scan,
            str(max_scan_tuples),
            text,
            embedder_id,
            *params,
            text,
            limit,
        ],
    )


def _vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form of ``vector``, to 7 significant digits (float32's precision).

    One ``%`` over a template per size: about 110 us for 384 numbers where formatting each one
    in a generator took 190 us, and a question formats its vector twice."""
    return _literal_template(len(vector)) % tuple(vector)


@cache
def _literal_template(dims: int) -> str:
    return "[" + ",".join(["%.7g"] * dims) + "]"


def _search_options(
    settings: RetrievalSettings,
    *,
    embedder_id: str,
    scope: tuple[str, list],
    limit: int,
    site: Any,
    locale: Any,
    within_page: Any,
    dimensions: int,
) -> dict[str, Any]:
    """``_vector_search_sql``'s arguments for a question, its HNSW ones from the retrieval settings
    (``site``, ``locale`` and ``within_page`` as ``_scope_sql`` takes them, for the scope's index)."""
    return {
        "embedder_id": embedder_id,
        "scope": scope,
        "limit": limit,
        "ef_search": settings.ef_search,
        "scope_index": _scope_index(site=site, locale=locale, within_page=within_page, dimensions=dimensions),
        "scope_ef_search": settings.scope_ef_search,
        "iterative_scan": settings.iterative_scan,
        "max_scan_tuples": settings.max_scan_tuples,
    }


def _next_result(cursor) -> None:
    """Move to the next result set of a string of statements (it must have one)."""
    if not cursor.nextset():
        raise RuntimeError("a retrieval statement returned fewer result sets than it sent")


def _ranked(rows) -> list[Ranked]:
    return [Ranked(id=pk, evidence=1.0 - float(distance)) for pk, distance in rows]


def _vector_candidates(cursor, vector: Sequence[float], **search: Any) -> list[Ranked]:
    """The vector candidates, best first (``_vector_search_sql`` takes ``search``)."""
    sql, params = _vector_search_sql(vector, **search)
    cursor.execute(sql, params)
    _next_result(cursor)  # past the settings' row
    return _ranked(cursor.fetchall())


def _text_candidates(
    cursor, query: str, *, embedder_id: str, scope: tuple[str, list], limit: int, config: str
) -> list[Ranked]:
    """Full-text candidates: any query term may match (OR), ranked by ts_rank.

    Questions are sentences; requiring every word (plainto_tsquery's AND) would match almost
    nothing. ts_rank rather than ts_rank_cd: as good on the labelled set and 3x cheaper when an
    OR query matches a fifth of 100k chunks (docs/BENCHMARKS.md). Evidence is the share of the
    query's distinct terms the chunk contains (computed for the returned rows only).
    """
    cursor.execute("SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s))", [config, query])
    lexemes = [lex for lex in (cursor.fetchone()[0] or []) if lex]
    if not lexemes:
        return []
    tsquery = " | ".join(_tsquery_lexeme(lex) for lex in lexemes)
    where, params = scope
    cursor.execute(
        f"SELECT c.id, (SELECT count(*) FROM unnest(%s::text[]) q(l) WHERE c.search_vector @@ q.l::tsquery) "  # noqa: S608
        f"FROM {_TABLE} c WHERE c.embedder_id = %s AND c.search_vector @@ %s::tsquery{where} "
        "ORDER BY ts_rank(c.search_vector, %s::tsquery) DESC, c.id LIMIT %s",
        [
            [f"'{lex.replace(chr(39), chr(39) * 2)}'" for lex in lexemes],
            embedder_id,
            tsquery,
            *params,
            tsquery,
            limit,
        ],
    )
    return [Ranked(id=pk, evidence=matched / len(lexemes)) for pk, matched in cursor.fetchall()]


def _tsquery_lexeme(lexeme: str) -> str:
    """A tsquery that matches exactly ``lexeme``: quoted, with quotes doubled and backslashes
    escaped, so no character of it is read as an operator, weight or prefix mark."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


# The query's distinct lexemes, the time the chunk table was last analysed, and the planner's lexeme
# statistics when that time is not the one passed (migration rag 0007): a PL/pgSQL function, so it
# is planned once per connection. Parameters: the text search configuration, the question, and the
# stamp of this process's copy of the statistics (NULL: send them).
_TERMS_SQL = "SELECT terms, stamp, fresh, elems, freqs FROM rag_query_terms(%s::regconfig, %s, %s)"
# How long a copy of the statistics is trusted without a newer ANALYZE: the stamp can move a moment
# before the ANALYZE that moved it commits, and a copy read in that moment is the older one.
TERM_STATISTICS_MAX_AGE = 60.0


class _TermStatistics(NamedTuple):
    """A copy of the lexeme statistics of the chunks' tsvectors: each listed lexeme's share of
    chunks, and the smallest share listed (unlisted lexemes are rarer than that)."""

    stamp: datetime | None
    shares: dict[str, float]
    rare_share: float | None
    read_at: float


# Per database (host, port, name): statistics are the same for every connection to it.
_term_statistics: dict[tuple, _TermStatistics] = {}


def _statistics_key() -> tuple:
    db = connection.settings_dict
    return db["HOST"], db["PORT"], db["NAME"]


def _terms_params(config: str, query: str) -> tuple[list, _TermStatistics | None]:
    """``_TERMS_SQL``'s parameters, and the copy of the statistics whose stamp they pass (None: the
    copy is missing or too old, and the statement reads the statistics afresh)."""
    copy = _term_statistics.get(_statistics_key())
    if copy is not None and time.monotonic() - copy.read_at > TERM_STATISTICS_MAX_AGE:
        copy = None
    return [config, query, None if copy is None else copy.stamp], copy


def _terms_from(rows, copy: _TermStatistics | None) -> tuple[list[str], dict[str, float], float | None]:
    ((terms, stamp, fresh, elems, freqs),) = rows
    if fresh or copy is None:
        # most_common_elem_freqs lists each lexeme's share, then the smallest and largest of them
        # and the share of empty values.
        elems, freqs = elems or [], freqs or []
        copy = _TermStatistics(
            stamp=stamp,
            shares=dict(zip(elems, freqs[: len(elems)], strict=True)),
            rare_share=freqs[len(elems)] if len(freqs) > len(elems) else None,
            read_at=time.monotonic(),
        )
        _term_statistics[_statistics_key()] = copy
    terms = list(terms or [])
    return terms, {t: copy.shares[t] for t in terms if t in copy.shares}, copy.rare_share


def _query_terms(cursor, query: str, *, config: str) -> tuple[list[str], dict[str, float], float | None]:
    """The query's distinct lexemes, the share of chunks containing each one PostgreSQL's statistics
    list, and the smallest share listed (terms not listed are rarer than that).

    The shares come from the planner's own element statistics for the tsvector column (pg_stats,
    kept up to date by autovacuum's ANALYZE): the most common lexemes with their frequencies, no
    extra table to maintain and no rows counted. They change only when the table is analysed, so a
    process keeps a copy and reads them again after the next ANALYZE (``_TERMS_SQL``) or after
    ``TERM_STATISTICS_MAX_AGE``. ``retrieve()`` sends this statement in one string with the vector
    search.
    """
    params, copy = _terms_params(config, query)
    cursor.execute(_TERMS_SQL, params)
    return _terms_from(cursor.fetchall(), copy)


def _candidate_evidence(
    cursor,
    ids: list[int],
    terms: list[str],
    *,
    neighbours_of: Sequence[float] | None,
    embedder_id: str,
) -> tuple[dict[int, frozenset[str]], dict[int, float], dict[int, _Source]]:
    """Per candidate chunk, read for the candidates alone (no full-text search over the index):
    which of ``terms`` it contains (title, headings and text alike), and, given the question's
    vector ``neighbours_of``, the question's cosine to the closer of the chunks just before and
    after it in its page or document, same embedder (``fusion.lexical_rescore``'s neighbour
    context; a chunk with no neighbour is left out). One query for both (a second one cost
    about 1 ms more at 10k chunks); neighbours are found through the page/document indexes, and
    only their scores are read: a neighbour's text is never returned, and it is on the same page.
    Also each candidate's source (page, or document with its source and key), which
    ``allowed_chunk_ids`` checks, so that check needs no query of its own."""
    if not ids:
        return {}, {}, {}
    near, params = "NULL", []
    if neighbours_of is not None:
        dims = len(neighbours_of)
        # A chunk belongs to a page or to a document: one lookup in that source's (source, position)
        # unique index, not an OR of both that makes PostgreSQL merge two bitmap scans per candidate.
        neighbour = (
            f"(SELECT max(1 - (n.embedding <=> %s::vector({dims}))) FROM {_TABLE} n "  # noqa: S608
            "WHERE n.{source} = c.{source} AND n.position IN (c.position - 1, c.position + 1) "
            f"AND n.embedder_id = %s AND n.dimensions = {dims})"
        )
        near = (
            f"CASE WHEN c.page_id IS NOT NULL THEN {neighbour.format(source='page_id')} "
            f"ELSE {neighbour.format(source='document_id')} END"
        )
        vector_text = _vector_literal(neighbours_of)
        params = [vector_text, embedder_id, vector_text, embedder_id]
    # Which terms the chunk has, read from its tsvector in one pass: every position weighted D,
    # then the terms' positions A, then only A-weighted lexemes kept. Each function looks terms up
    # in the sorted lexemes, and the (often TOASTed) tsvector is fetched once per candidate, where
    # one ``@@`` per term fetched it once per term (0.8 ms more at 40 candidates and 6 terms), and
    # intersecting with tsvector_to_array() built and hashed every lexeme (3.5x slower;
    # docs/BENCHMARKS.md). Every lexeme to_tsvector() makes has a position, so none is lost.
    matched = (
        "tsvector_to_array(ts_filter(setweight(setweight(c.search_vector, 'D'), 'A', %s::text[]), '{a}'))"
        if terms
        else "NULL"
    )
    sql = (
        f"SELECT c.id, {matched}, {near}, c.page_id, c.document_id, d.source, d.key "  # noqa: S608
        f"FROM {_TABLE} c LEFT JOIN {_DOCUMENT_TABLE} d ON d.id = c.document_id WHERE c.id = ANY(%s)"
    )
    rows = _prepared_rows(cursor, sql, [*([terms] if terms else []), *params, ids])
    found, neighbours, sources = {}, {}, {}
    for pk, terms_in, similarity, page_id, document_id, source, key in rows:
        if terms_in is not None:
            found[pk] = frozenset(terms_in)
        if similarity is not None:
            neighbours[pk] = float(similarity)
        sources[pk] = _Source(page_id, document_id, source, key)
    return found, neighbours, sources


def _prepared_rows(cursor, sql: str, params: list) -> list[tuple]:
    """``sql``'s rows, run through ``_server_bound`` so that PostgreSQL prepares it on this
    connection after a few runs and skips parsing and planning from then on."""
    with _server_bound(cursor) as bound:
        try:
            bound.execute(sql, params)
        except NotSupportedError as err:
            if not _stale_prepared_plan(err) or not connection.get_autocommit():
                raise
            # A migration changed the type of a column this statement returns, after this
            # connection prepared it: PostgreSQL refuses the old plan on every run until it is
            # dropped. DEALLOCATE ALL drops it (psycopg forgets its own record on seeing the
            # command), and the statement is planned afresh. Inside a transaction the failure has
            # aborted it, so there the error is raised instead.
            cursor.execute("DEALLOCATE ALL")
            bound.execute(sql, params)
        return bound.fetchall()


def _stale_prepared_plan(err: Exception) -> bool:
    cause = err.__cause__
    return getattr(cause, "sqlstate", None) == "0A000" and "cached plan must not change result type" in str(
        cause
    )


@contextmanager
def _server_bound(cursor):
    """A cursor on ``cursor``'s connection (same transaction) that binds parameters server-side.

    Django's cursors merge parameters into the SQL text client-side, so PostgreSQL parses and plans
    every statement afresh. Sent with server-side binding, a statement run more than psycopg's
    ``prepare_threshold`` times (5 by default) on a connection is prepared: later runs skip parsing
    and planning. Used for the candidates' evidence query, whose planning cost about as much as its
    execution (docs/BENCHMARKS.md). Wrapped like Django's own cursors, so query logging, execute
    wrappers and error translation see it; ``DATABASES["default"]["OPTIONS"]["prepare_threshold"] =
    None`` turns preparing off (a transaction-mode pooler without prepared-statement support).
    """
    raw = psycopg.Cursor(cursor.cursor.connection)
    wrapped = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    try:
        yield wrapped
    finally:
        raw.close()


def _check_embedder(embedder_id: str) -> None:
    if KnowledgeChunk.objects.filter(embedder_id=embedder_id).exists():
        return
    other = (
        KnowledgeChunk.objects.exclude(embedder_id=embedder_id).values_list("embedder_id", flat=True).first()
    )
    if other:
        raise IndexEmbedderMismatchError(
            f"The knowledge index was built with embedder {other!r}, but the configured embedder is "
            f"{embedder_id!r}; their vectors cannot be compared. Run `manage.py reindex --all` to re-embed."
        )


def retrieval_candidates(
    query: str, *, site: Any, locale: Any, within_page: Any = None, limit: int, settings: RetrievalSettings
) -> dict[str, list[Ranked]]:
    """Both retrievers' ranked candidates, before fusion (``retrieve`` and the tuning bench use it)."""
    embedder = providers.embedder()
    vector = providers.query_vector(query, embedder=embedder)
    scope = _scope_sql(site=site, locale=locale, within_page=within_page)
    with connection.cursor() as cursor:
        vector_list = _vector_candidates(
            cursor,
            vector,
            **_search_options(
                settings,
                embedder_id=embedder.embedder_id,
                scope=scope,
                limit=limit,
                site=site,
                locale=locale,
                within_page=within_page,
                dimensions=len(vector),
            ),
        )
        text_list = _text_candidates(
            cursor,
            query,
            embedder_id=embedder.embedder_id,
            scope=scope,
            limit=limit,
            config=settings.text_search_config,
        )
    if not vector_list:
        _check_embedder(embedder.embedder_id)
    return {"vector": vector_list, "text": text_list}


def retrieval_scored(
    query: str, *, site: Any, locale: Any, within_page: Any = None, limit: int, settings: RetrievalSettings
) -> list[Fused]:
    """Every candidate with its score, best first, before the floor and the access check."""
    return _scored_with_sources(
        query, site=site, locale=locale, within_page=within_page, limit=limit, settings=settings
    )[0]


def _scored_with_sources(
    query: str, *, site: Any, locale: Any, within_page: Any, limit: int, settings: RetrievalSettings
) -> tuple[list[Fused], dict[int, _Source] | None]:
    """``retrieval_scored``'s candidates, and the candidates' sources when they were read on the way
    (``None``: not read, ``allowed_chunk_ids`` reads them).

    ``LEXICAL = "candidates"`` (the default): one vector search, then each candidate is rescored
    by the IDF-weighted share of the question's terms it contains (``fusion.lexical_rescore``),
    and ordered with the cosine of its page neighbours too (``NEIGHBOUR_WEIGHT``; scores unchanged).
    ``"full_text"``: a second, unrestricted full-text query fused by weighted RRF (the earlier
    design, slower and worse on third-party text; docs/BENCHMARKS.md).
    """
    if settings.lexical == "full_text":
        lists = retrieval_candidates(
            query, site=site, locale=locale, within_page=within_page, limit=limit, settings=settings
        )
        fused = weighted_rrf(
            lists, weights={"vector": settings.vector_weight, "text": settings.text_weight}, k=settings.rrf_k
        )
        return fused, None
    embedder = providers.embedder()
    vector = providers.query_vector(query, embedder=embedder)
    scope = _scope_sql(site=site, locale=locale, within_page=within_page)
    search_sql, search_params = _vector_search_sql(
        vector,
        **_search_options(
            settings,
            embedder_id=embedder.embedder_id,
            scope=scope,
            limit=limit,
            site=site,
            locale=locale,
            within_page=within_page,
            dimensions=len(vector),
        ),
    )
    with connection.cursor() as cursor:
        # The question's terms, the search settings and the vector candidates: one round trip.
        terms_params, copy = _terms_params(settings.text_search_config, query)
        cursor.execute(f"{_TERMS_SQL}; {search_sql}", [*terms_params, *search_params])
        terms, shares, rare_share = _terms_from(cursor.fetchall(), copy)
        _next_result(cursor)  # the settings' row
        _next_result(cursor)
        vector_list = _ranked(cursor.fetchall())
        found, neighbours, sources = _candidate_evidence(
            cursor,
            [r.id for r in vector_list],
            terms,
            neighbours_of=vector if settings.neighbour_weight else None,
            embedder_id=embedder.embedder_id,
        )
    if not vector_list:
        _check_embedder(embedder.embedder_id)
    weights = term_weights(
        terms, frequencies=shares, rare_frequency=rare_share, max_frequency=settings.max_term_frequency
    )
    candidates = [
        Candidate(id=r.id, similarity=r.evidence, terms=found.get(r.id, frozenset())) for r in vector_list
    ]
    fused = lexical_rescore(
        candidates,
        weights=weights,
        vector_weight=settings.vector_weight,
        text_weight=settings.text_weight,
        neighbours=neighbours,
        neighbour_weight=settings.neighbour_weight,
    )
    return fused, sources


def retrieve(
    query: str,
    *,
    site: Any,
    locale: Any,
    within_page: Any = None,
    top_k: int | None = None,
    min_score: float | None = None,
    settings: RetrievalSettings | None = None,
    fallback_locale: str | None = None,
) -> list[RetrievedChunk]:
    """Best chunks for ``query``, best first; empty when nothing clears ``min_score``.

    ``site``/``locale`` accept model instances or ids/codes (``None``: any; ``site=NO_SITE``:
    shared documents only); ``within_page`` limits the search to one page's chunks (a page id or
    page). When ``locale`` finds nothing, ``fallback_locale`` (if another one) is searched instead.
    Every page about to be returned is re-checked with ``PAGE_ACCESS_CHECK`` first. Raises
    ``IndexEmbedderMismatchError`` when the index was built by another embedder.
    """
    query = (query or "").strip()
    if not query:
        return []
    settings = settings or retrieval_settings()
    scope = {"site": site, "within_page": within_page, "top_k": top_k, "min_score": min_score}
    found = _retrieve_in(query, locale=locale, settings=settings, **scope)
    language = getattr(locale, "language_code", locale)
    if not found and fallback_locale and language and fallback_locale != language:
        found = _retrieve_in(query, locale=fallback_locale, settings=settings, **scope)
    return found


def _retrieve_in(
    query: str,
    *,
    site: Any,
    locale: Any,
    within_page: Any,
    top_k: int | None,
    min_score: float | None,
    settings: RetrievalSettings,
) -> list[RetrievedChunk]:
    top_k = settings.top_k if top_k is None else top_k
    min_score = settings.min_score if min_score is None else min_score
    fused, sources = _scored_with_sources(
        query,
        site=site,
        locale=locale,
        within_page=within_page,
        limit=max(settings.candidates, top_k),
        settings=settings,
    )
    # Every candidate that clears the floor, not only the top k: a dropped chunk's place goes to
    # the next allowed one instead of leaving the answer short.
    eligible = select(fused, top_k=len(fused), min_score=min_score)
    allowed = allowed_chunk_ids([f.id for f in eligible], site=site, settings=settings, sources=sources)
    chosen = [f for f in eligible if f.id in allowed][: max(0, top_k)]
    if not chosen:
        return []
    rows = _chosen_rows([f.id for f in chosen], query=query, config=settings.text_search_config)
    return [_retrieved(f, *rows[f.id]) for f in chosen if f.id in rows]  # else removed since


def _retrieved(fused: Fused, row: KnowledgeChunk, snippet: str) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=fused.id,
        page_id=row.page_id,
        document_id=row.document_id,
        title=row.title,
        heading_path=row.heading_path,
        text=row.text,
        snippet=snippet,
        url=row.anchor_url,
        score=round(fused.score, 4),
        vector_similarity=fused.evidence.get("vector"),
        text_coverage=fused.evidence.get("text"),
        block_ids=tuple(row.block_ids),
        page=row.page,
    )


class _Source(NamedTuple):
    """Where a chunk comes from: its page, or its document and that document's source and key."""

    page_id: int | None
    document_id: int | None
    source: str | None
    key: str | None


def allowed_chunk_ids(
    ids: list[int], *, site: Any, settings: RetrievalSettings, sources: dict[int, _Source] | None = None
) -> set[int]:
    """The chunks among ``ids`` that may be served now: pages only if ``PAGE_ACCESS_CHECK`` says
    the page is still live, public and on ``site``; documents only if ``DOCUMENT_ACCESS_CHECK``
    (asked once per source) still allows them (no check configured: their row's scope decides).

    The index should hold nothing else, but removal can lose a race with an index run, or sit in a
    queue; this check reads the page tree and the document library at the moment of asking, so
    neither can leak a page or a private document. A few queries for any number of candidates.
    ``sources``: the chunks' sources as this retrieval's candidate query read them moments ago (a
    chunk's page or document never changes, and the checks above still run now; a chunk missing
    from it is treated as gone), else they are read here.
    """
    if not ids:
        return set()
    if sources is None:
        sources = {
            pk: _Source(*source)
            for pk, *source in KnowledgeChunk.objects.filter(pk__in=ids).values_list(
                "pk", "page_id", "document_id", "document__source", "document__key"
            )
        }
    rows = {pk: sources[pk] for pk in ids if pk in sources}
    site_id = getattr(site, "pk", site)
    site_id = None if site_id is None else int(site_id)
    allowed = {
        pk for pk, (page_id, document_id, _, _) in rows.items() if page_id is None and document_id is None
    }
    page_ids = {row[0] for row in rows.values() if row[0] is not None}
    check = page_access_check(settings)
    visible_pages = page_ids if check is None or not page_ids else check(page_ids=page_ids, site_id=site_id)
    allowed |= {pk for pk, row in rows.items() if row[0] is not None and row[0] in visible_pages}
    by_source: dict[str, set[str]] = {}
    for _, document_id, source, key in rows.values():
        if document_id is not None:
            by_source.setdefault(source, set()).add(key)
    doc_check = document_access_check(settings)
    visible_docs = {
        source: keys if doc_check is None else set(doc_check(source=source, keys=keys, site_id=site_id))
        for source, keys in by_source.items()
    }
    allowed |= {
        pk
        for pk, (_, document_id, source, key) in rows.items()
        if document_id is not None and key in visible_docs.get(source, ())
    }
    return allowed


# The fields of a chosen chunk that ``RetrievedChunk`` and the model's ``anchor_url`` and ``page``
# read, then its excerpt around the question's terms: plain text (no markup: callers escape and
# style), from ts_headline with the question and config as parameters.
_CHOSEN_FIELDS = ("id", "page_id", "document_id", "title", "heading_path", "text", "url", "block_ids")
_CHOSEN_SQL = (
    f"SELECT {', '.join(_CHOSEN_FIELDS)}, ts_headline(%s::regconfig, text, plainto_tsquery(%s::regconfig, %s), "  # noqa: S608
    '\'MaxWords=35, MinWords=15, StartSel="", StopSel="", HighlightAll=false\') '
    f"FROM {_TABLE} WHERE id = ANY(%s)"
)


def _chosen_rows(ids: list[int], *, query: str, config: str) -> dict[int, tuple[KnowledgeChunk, str]]:
    """The chosen chunks (unsaved model instances holding ``_CHOSEN_FIELDS``) and their excerpts,
    by id, in one prepared statement. Through the ORM the same query cost about 1.2 ms more per
    question, in compiling the queryset and building deferred instances (docs/BENCHMARKS.md)."""
    with connection.cursor() as cursor:
        rows = _prepared_rows(cursor, _CHOSEN_SQL, [config, config, query, ids])
    return {
        row[0]: (KnowledgeChunk(**dict(zip(_CHOSEN_FIELDS, row[:-1], strict=True))), row[-1] or "")
        for row in rows
    }


def page_chunks(*, page_id: int) -> list[KnowledgeChunk]:
    """A page's chunks in reading order (for summaries)."""
    return list(
        KnowledgeChunk.objects.filter(page_id=page_id)
        .defer("embedding", "search_vector")
        .order_by("position")
    )


def page_summary_chunks(*, page_id: int, limit: int) -> list[KnowledgeChunk]:
    """What a page's summary is made from: the page's chunks in reading order, then, while room
    is left, those of the documents it links (in link order), only those a visitor of the page's
    site may read now (``DOCUMENT_ACCESS_CHECK``): the summary is shown to every visitor."""
    chunks = page_chunks(page_id=page_id)[: max(0, limit)]
    documents = page_linked_document_ids(page_id=page_id)
    if len(chunks) >= limit or not documents:
        return chunks
    site_id = chunks[0].site_id if chunks else None
    linked = list(
        KnowledgeChunk.objects.filter(document_id__in=documents)
        .defer("embedding", "search_vector")
        .order_by("document_id", "position")[: limit - len(chunks)]
    )
    allowed = allowed_chunk_ids([c.pk for c in linked], site=site_id, settings=retrieval_settings())
    return chunks + [c for c in linked if c.pk in allowed]


@dataclass(kw_only=True, frozen=True)
class PageIndexStatus:
    indexed_at: Any
    chunks: int
    embedder_id: str
    status: str
    stale_outputs: int
    embedder_current: bool


def page_index_status(*, page_id: int) -> PageIndexStatus | None:
    from .models import OutputProvenance

    state = PageIndexState.objects.filter(page_id=page_id).first()
    if state is None:
        return None
    return PageIndexStatus(
        indexed_at=state.indexed_at,
        chunks=state.chunk_count,
        embedder_id=state.embedder_id,
        status=state.status,
        stale_outputs=OutputProvenance.objects.filter(
            page_ids__contains=[page_id], stale_at__isnull=False
        ).count(),
        # Compared by alias, read from settings: building the provider here would be a model
        # client inside an HTTP request (the admin shows this), which ai_core.guard forbids.
        embedder_current=not state.chunk_count
        or state.embedder_id.split(":", 1)[0] == conf.default_embedder_alias(),
    )
