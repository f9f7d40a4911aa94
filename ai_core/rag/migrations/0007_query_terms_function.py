"""``rag_query_terms(config, query, known)``: a question's distinct lexemes, and the planner's lexeme
statistics for the chunks' tsvectors only when they changed since ``known``.

It replaces ``rag_query_term_shares`` (0005), which read and re-cast the statistics (``pg_stats``,
1,000 lexemes) for every question: about 0.3 ms of each question's vector statement. Those
statistics change only when the table is analysed, so ``ai_core.rag.selectors`` keeps a copy per
process, stamped with the time of the table's last ANALYZE, and passes that stamp back. The
function answers with the current stamp, and with the statistics only when the stamp differs (or
``known`` is NULL): one statement a question either way.

``rag_query_term_shares`` stays for now: migrations run before the previous release's processes
stop (docs/DEPLOYMENT.md), and those still call it. A later release drops it.

``pg_stat_clear_snapshot()`` first: inside a transaction, the statistics system otherwise keeps
answering with what it read at the transaction's first look, and an ANALYZE run since would go
unseen.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION rag_query_terms(config regconfig, query text, known timestamptz)
RETURNS TABLE (terms text[], stamp timestamptz, fresh boolean, elems text[], freqs real[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    chunks regclass := to_regclass(format('%I.rag_knowledgechunk', current_schema()));
BEGIN
    PERFORM pg_stat_clear_snapshot();
    terms := ARRAY(
        SELECT DISTINCT t FROM unnest(tsvector_to_array(to_tsvector(config, query))) AS t WHERE t <> ''
    );
    stamp := greatest(pg_stat_get_last_analyze_time(chunks), pg_stat_get_last_autoanalyze_time(chunks));
    fresh := known IS NULL OR stamp IS DISTINCT FROM known;
    IF fresh THEN
        SELECT st.most_common_elems::text::text[], st.most_common_elem_freqs INTO elems, freqs
        FROM pg_stats st
        WHERE st.schemaname = current_schema() AND st.tablename = 'rag_knowledgechunk'
          AND st.attname = 'search_vector';
    END IF;
    RETURN NEXT;
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [("rag", "0006_chunk_rows_inline")]

    operations = [
        migrations.RunSQL(CREATE, "DROP FUNCTION IF EXISTS rag_query_terms(regconfig, text, timestamptz)"),
    ]
