"""Lexical evidence over the vector candidates (LEXICAL = "candidates"), weighted by term rarity."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ai_core.rag import selectors
from ai_core.rag.conf import retrieval_settings
from ai_core.rag.selectors import _query_terms, retrieve

pytestmark = pytest.mark.django_db


@pytest.fixture
def widgets(fake_embedder, section, publish):
    pages = [
        publish(
            section,
            title=f"Part {n}",
            slug=f"part-{n}",
            intro="",
            items=[("p", f"Widget care: widgets need oiling every {n} months.")],
        )
        for n in range(1, 7)
    ]
    pages.append(
        publish(section, title="Seals", slug="seals", intro="", items=[("p", "A gasket is replaced yearly.")])
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE rag_knowledgechunk")
    return pages


def test_term_shares_come_from_the_planner_statistics(widgets):
    with connection.cursor() as cursor:
        terms, shares, rare_share = _query_terms(cursor, "widget gasket sourdough", config="english")
    assert sorted(terms) == ["gasket", "sourdough", "widget"]
    assert shares["widget"] == pytest.approx(6 / 7, abs=0.01)
    assert "sourdough" not in shares  # in no chunk: not in the statistics
    assert rare_share is not None and rare_share <= shares.get("gasket", 1 / 7)


def _shares(query: str) -> dict[str, float]:
    with connection.cursor() as cursor:
        return _query_terms(cursor, query, config="english")[1]


def test_a_new_analyze_changes_the_shares_from_the_next_question_on(widgets, section, publish):
    """The process keeps a copy of the statistics between questions; an ANALYZE since (here in the
    same transaction, whose statistics snapshot must not hide it) makes the next question read
    them again."""
    assert _shares("gasket widget")["widget"] == pytest.approx(6 / 7, abs=0.01)
    for n in range(7):
        publish(section, title=f"Seal {n}", slug=f"seal-{n}", intro="", items=[("p", f"Gasket type {n}.")])
    assert _shares("gasket widget")["widget"] == pytest.approx(6 / 7, abs=0.01)  # not analysed yet
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE rag_knowledgechunk")
    shares = _shares("gasket widget")
    assert shares["widget"] == pytest.approx(6 / 14, abs=0.01)
    assert shares["gasket"] == pytest.approx(8 / 14, abs=0.01)


def test_the_copy_of_the_statistics_is_used_until_it_is_too_old(widgets, monkeypatch):
    _shares("widget")
    key = selectors._statistics_key()
    older = selectors._term_statistics[key]._replace(shares={"widget": 0.5})  # as an older ANALYZE's
    selectors._term_statistics[key] = older
    assert _shares("widget") == {"widget": 0.5}  # no new ANALYZE: the copy answers
    monkeypatch.setattr(selectors, "TERM_STATISTICS_MAX_AGE", 0.0)
    assert _shares("widget")["widget"] == pytest.approx(6 / 7, abs=0.01)


def test_a_term_commoner_than_the_cut_off_earns_no_coverage(widgets):
    settings = retrieval_settings(overrides={"MAX_TERM_FREQUENCY": 0.5})
    results = retrieve("widget gasket", site=None, locale="en", min_score=0, settings=settings)
    by_slug = {r.title: r for r in results}
    assert by_slug["Seals"].text_coverage == 1.0  # "widget" is in 6 of 7 chunks: dropped
    assert by_slug["Part 1"].text_coverage is None
    uncut = retrieve("widget gasket", site=None, locale="en", min_score=0)
    seals = next(r for r in uncut if r.title == "Seals")
    assert 0.5 < seals.text_coverage < 1.0  # both terms count, the rare one for more than half


def test_candidates_mode_runs_no_full_text_search_over_the_index(widgets):
    with CaptureQueriesContext(connection) as queries:
        assert retrieve("gasket", site=None, locale="en")
    # Term matches are read for the vector candidates alone: every query that reads the chunks'
    # tsvectors is the one restricted to the candidates' ids, and none matches a tsquery.
    reading = [q["sql"] for q in queries if "search_vector" in q["sql"]]
    assert reading and all("WHERE c.id = ANY(" in sql for sql in reading)
    assert not [q["sql"] for q in queries if "@@" in q["sql"]]
    full_text = retrieval_settings(overrides={"LEXICAL": "full_text", "TEXT_WEIGHT": 0.8})
    with CaptureQueriesContext(connection) as queries:
        assert retrieve("gasket", site=None, locale="en", settings=full_text)[0].title == "Seals"
    assert [q["sql"] for q in queries if "@@" in q["sql"]]


@pytest.mark.parametrize(
    ("key", "value"), [("LEXICAL", "bm25"), ("MAX_TERM_FREQUENCY", 0), ("MAX_TERM_FREQUENCY", 1.5)]
)
def test_bad_lexical_settings_fail_the_system_check(settings, key, value):
    from ai_core.rag.checks import retrieval_settings_check

    settings.AI_CORE = {**settings.AI_CORE, "RETRIEVAL": {key: value}}
    errors = retrieval_settings_check()
    assert errors and key in errors[0].msg


def test_candidate_terms_are_matched_as_exact_lexemes_whatever_their_characters(widgets):
    """Lexemes of URLs, paths and addresses carry colons, ampersands, question marks and slashes:
    each must match itself and nothing else (never be read as tsquery syntax), exactly as the
    chunk's own lexemes say."""
    from ai_core.rag.models import KnowledgeChunk
    from ai_core.rag.selectors import _candidate_evidence

    chunk = KnowledgeChunk.objects.filter(title="Seals").get()
    KnowledgeChunk.objects.filter(pk=chunk.pk).update(
        text="See http://tix.sourceforge.net/a:b?x=1&y=2 and /usr/lib/o'neil.py, C:\\path\\file.txt, "
        "user@example.com, v1.2.3-rc:1 (a|b) !x"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(search_vector) FROM rag_knowledgechunk WHERE id = %s", [chunk.pk]
        )
        lexemes = set(cursor.fetchone()[0])
        odd = {lex for lex in lexemes if any(ch in lex for ch in ":&?/@|!\\'")}
        assert {"tix.sourceforge.net/a:b?x=1&y=2", "/a:b?x=1&y=2", "user@example.com"} <= odd
        near_misses = ["tix", "sourceforge", "a:b", "user", "o'neil", "x:*", "&", "file"]
        found, _, _ = _candidate_evidence(
            cursor,
            [chunk.pk],
            [*sorted(odd), *near_misses],
            neighbours_of=None,
            embedder_id=chunk.embedder_id,
        )
    assert found[chunk.pk] == frozenset(odd | (lexemes & set(near_misses)))


# A phrase only each prepared statement of retrieve() contains: the candidates' evidence, then
# the chosen rows and their excerpts.
_PREPARED = {"evidence": "%setweight(c.search_vector%", "chosen rows": "%ts_headline(%"}


def _prepared(statement: str) -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            [_PREPARED[statement]],
        )
        return cursor.fetchall()


@pytest.mark.parametrize("statement", sorted(_PREPARED))
def test_a_statement_is_prepared_after_a_few_questions_and_gives_the_same_answers(widgets, statement):
    """Planned once per connection instead of per question (psycopg prepares it after
    ``prepare_threshold`` runs); what retrieve() returns must not change once it is."""
    assert connection.connection.prepare_threshold == 5
    first = retrieve("widget gasket", site=None, locale="en", min_score=0)
    for _ in range(6):
        again = retrieve("widget gasket", site=None, locale="en", min_score=0)
    assert again == first
    ((generic, custom),) = _prepared(statement)
    assert generic + custom >= 1


def test_with_preparing_off_nothing_is_prepared(widgets):
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # whatever an earlier test left on this connection
    connection.connection.prepare_threshold = None  # what DATABASE_PREPARE_THRESHOLD=off sets
    try:
        for _ in range(8):
            assert retrieve("widget gasket", site=None, locale="en", min_score=0)
        assert [_prepared(statement) for statement in sorted(_PREPARED)] == [[], []]
    finally:
        connection.connection.prepare_threshold = 5


# A column each prepared statement returns, its type, and a type a deploy's migration might give it.
_RETYPED = {
    "evidence": ("rag_knowledgedocument", "key", "varchar(1024)", "text"),
    "chosen rows": ("rag_knowledgechunk", "url", "varchar(2048)", "text"),
}


@pytest.mark.parametrize("statement", sorted(_RETYPED))
@pytest.mark.django_db(transaction=True)
def test_a_migration_that_retypes_a_returned_column_does_not_break_a_prepared_query(
    fake_embedder, section, publish, statement
):
    """After a deploy's migration changes the type of a column a prepared query returns,
    PostgreSQL refuses the old plan on every run; retrieve() must plan it afresh, not fail."""
    import psycopg

    table, column, was, becomes = _RETYPED[statement]
    publish(section, title="Seals", slug="seals", intro="", items=[("p", "A gasket is replaced yearly.")])
    for _ in range(7):
        before = retrieve("gasket", site=None, locale="en", min_score=0)
    assert _prepared(statement)
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    with psycopg.connect(**params, autocommit=True) as other:  # the migrating process
        other.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {becomes}")
        try:
            after = retrieve("gasket", site=None, locale="en", min_score=0)
            assert after == before
        finally:
            other.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {was}")
