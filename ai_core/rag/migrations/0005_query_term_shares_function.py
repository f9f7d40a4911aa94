"""``rag_query_term_shares(config, query)``: a question's lexemes with their shares of chunks from the
planner's statistics, as a PL/pgSQL function so that PostgreSQL plans its query once per connection.

Sent as a plain statement (the project binds parameters client-side), the same query was planned
afresh for every question, and planning the ``pg_stats`` view cost more than running it: about
1 ms a question (docs/BENCHMARKS.md, "Retrieval latency"). ``ai_core.rag.selectors._query_terms``
calls it.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION rag_query_term_shares(config regconfig, query text)
RETURNS TABLE (term text, share real, rare_share real)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH q AS (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector(config, query))) AS t),
    s AS (
        SELECT st.most_common_elems::text::text[] AS elems, st.most_common_elem_freqs AS freqs
        FROM pg_stats st
        WHERE st.schemaname = current_schema() AND st.tablename = 'rag_knowledgechunk'
          AND st.attname = 'search_vector'
    )
    SELECT q.t,
           (SELECT s.freqs[array_position(s.elems, q.t)] FROM s),
           (SELECT s.freqs[array_length(s.elems, 1) + 1] FROM s)
    FROM q WHERE q.t <> '';
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [("rag", "0004_wagtail_documents")]

    operations = [
        migrations.RunSQL(CREATE, "DROP FUNCTION IF EXISTS rag_query_term_shares(regconfig, text)"),
    ]
