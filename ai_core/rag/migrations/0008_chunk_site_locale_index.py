"""A btree index on the chunks' site and locale, the filter of every visitor's question.

A scope (one site, one language) too small for its own partial HNSW index (``manage.py
rag_scope_indexes --min-rows``, 1,000 rows by default) had no index that served its filter. The
planner then read the whole table: a parallel sequential scan, 54–131 ms for a scope of 50–800
rows among 100k chunks, 460–470 ms at a million (or a full-index walk that stopped short of the
scope's rows: recall@10 0.885), where the scopes with an index answer in a few ms. With this
index it reads the scope's rows and sorts them by exact distance: 0.7–3.4 ms, recall 1.0, at
both sizes (docs/BENCHMARKS.md, "Small scopes"). Larger scopes keep their HNSW index: the
planner chooses by the rows it expects.

Built ``CONCURRENTLY``: chunks keep being written while it builds (outside a transaction, so this
migration is not atomic). A build that fails leaves an invalid index behind; ``migrate`` then stops
with the error, and after ``DROP INDEX rag_chunk_site_locale`` it can be run again.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("rag", "0007_query_terms_function")]

    operations = [
        AddIndexConcurrently(
            model_name="knowledgechunk",
            index=models.Index(fields=["site_id", "locale"], name="rag_chunk_site_locale"),
        ),
    ]
