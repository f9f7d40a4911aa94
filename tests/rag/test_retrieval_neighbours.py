"""Neighbour context in retrieval: a chunk is ranked with the chunks around it in its page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ai_core.rag.conf import retrieval_settings
from ai_core.rag.selectors import retrieve

pytestmark = pytest.mark.django_db

QUESTION = "gasket replacement interval"


@pytest.fixture
def pages(fake_embedder, section, publish):
    # A page about gaskets, every section on them, against a notice board with one section that
    # names the question's words and nothing around it on the subject.
    seals = publish(
        section,
        title="Seals",
        slug="seals",
        intro="",
        items=[
            ("h2", "Gasket"),
            ("p", "Change the gasket when the replacement interval of the pump is reached."),
            ("h2", "Gasket care"),
            ("p", "A gasket lasts longer with grease; a worn gasket needs replacement."),
        ],
    )
    board = publish(
        section,
        title="Notice board",
        slug="board",
        intro="",
        items=[
            ("h2", "Parking"),
            ("p", "Cars park in the north lot after the lunch break."),
            ("h2", "Gaskets"),
            ("p", "Gasket replacement interval: ask."),
            ("h2", "Lunch"),
            ("p", "The canteen opens at noon and closes at two."),
        ],
    )
    return seals, board


def _first(results):
    return (results[0].title, results[0].heading_path)


def test_the_page_about_the_question_outranks_a_section_that_only_names_it(pages):
    without = retrieve(
        QUESTION,
        site=None,
        locale="en",
        min_score=0,
        settings=retrieval_settings(overrides={"NEIGHBOUR_WEIGHT": 0}),
    )
    assert _first(without) == ("Notice board", "Gaskets")
    found = retrieve(QUESTION, site=None, locale="en", min_score=0)
    assert found[0].title == "Seals"
    # Ordering only: every chunk keeps its own score, so the floor means what it meant.
    assert {r.chunk_id: r.score for r in found} == {r.chunk_id: r.score for r in without}


def test_neighbour_context_adds_no_query(pages):
    """The neighbours' cosines are read in the query that reads the candidates' terms."""
    with CaptureQueriesContext(connection) as on:
        retrieve(QUESTION, site=None, locale="en")
    off = retrieval_settings(overrides={"NEIGHBOUR_WEIGHT": 0})
    with CaptureQueriesContext(connection) as plain:
        retrieve(QUESTION, site=None, locale="en", settings=off)
    assert len(on) == len(plain)
    assert [q for q in on if "n.position IN" in q["sql"]]
    assert not [q for q in plain if "n.position IN" in q["sql"]]


@pytest.mark.parametrize("value", [-0.1, 1.5, "0.2", True])
def test_a_bad_neighbour_weight_fails_the_system_check(settings, value):
    from ai_core.rag.checks import retrieval_settings_check

    settings.AI_CORE = {**settings.AI_CORE, "RETRIEVAL": {"NEIGHBOUR_WEIGHT": value}}
    errors = retrieval_settings_check()
    assert errors and "NEIGHBOUR_WEIGHT" in errors[0].msg
