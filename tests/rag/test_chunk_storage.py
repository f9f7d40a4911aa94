"""A chunk's row stays in the table's page: its vector, text and tsvector are not moved to TOAST.

Retrieval reads every candidate's vector (the full-precision distance) and tsvector (the term
evidence), and every page neighbour's vector; out of line, each of those reads was one more index
lookup in the TOAST table (migration rag 0006, docs/BENCHMARKS.md "Chunk rows inline").
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection

from ai_core.rag.models import KnowledgeChunk

pytestmark = pytest.mark.django_db

WORDS = (
    "account administrator allowance appeal arrangement assessment balance beneficiary billing "
    "calendar cancellation certificate claimant clause committee compensation complaint contract "
    "contribution coverage deadline declaration deduction delivery deposit dispute document "
    "eligibility employer enrolment estimate evidence exemption expense extension guarantee holder "
    "household income installment insurance invoice liability licence mortgage notice obligation "
    "overpayment payment penalty pension permit policy premium procedure receipt refund register "
    "reimbursement renewal residence retirement schedule settlement signature statement subsidy "
    "supplier surcharge tenancy threshold transfer tribunal voucher warranty withdrawal"
).split()


def _paragraph(start: int) -> str:
    """About 110 words of prose-like text, its words drawn in a rotating order."""
    words = list(itertools.islice(itertools.cycle(WORDS[start:] + WORDS[:start]), 110))
    sentences = [" ".join(words[i : i + 11]) for i in range(0, len(words), 11)]
    return ". ".join(s.capitalize() for s in sentences) + "."


def _toast_rows_inserted() -> int:
    """Rows this transaction inserted into the chunk table's TOAST table (out-of-line values)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce((SELECT n_tup_ins FROM pg_stat_xact_all_tables WHERE relid = c.reltoastrelid), 0) "
            "FROM pg_class c WHERE c.oid = %s::regclass",
            [KnowledgeChunk._meta.db_table],
        )
        return cursor.fetchone()[0]


def test_a_published_page_s_chunks_keep_their_vectors_and_text_in_the_row(fake_embedder, section, publish):
    before = _toast_rows_inserted()
    page = publish(
        section,
        title="Benefit claims",
        slug="benefit-claims",
        items=[item for n in range(8) for item in (("h2", f"Part {n + 1}"), ("p", _paragraph(7 * n)))],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT vector_dims(embedding), octet_length(text), length(search_vector) "
            "FROM rag_knowledgechunk WHERE page_id = %s",
            [page.pk],
        )
        sizes = cursor.fetchall()
    # The body's chunks (a 1.5 kB vector, 700+ bytes of text, a tsvector of 70+ lexemes) are well
    # over the 2 kB at which PostgreSQL starts moving values out of line by default.
    assert sum(dims == 384 and text > 700 and lexemes > 70 for dims, text, lexemes in sizes) >= 8, sizes
    assert _toast_rows_inserted() == before
