"""The per-dimension HNSW indexes built again with ef_construction 128 (was 64).

At a million chunks, recall@10 at the shipped ef_search (200) varied from one build of the graph
to the next: 0.942–0.980 over nine builds at ef_construction 64 (two under the 0.95 target), and
0.978–0.986 over four at 128, the same rows and questions (docs/BENCHMARKS.md, "1M recall from one
HNSW build to the next"). A build takes 1.4–1.6× as long; the index is the same size and a query
costs the same. ``scopes.HNSW_OPTIONS`` changes with it, so ``manage.py rag_scope_indexes``
replaces each scope index by one built the same way (its name hashes the definition).

No moment without an index: each new index builds ``CONCURRENTLY`` beside the old one, which
serves queries until it is dropped, then takes its name. Outside a transaction, so not atomic. At
a million chunks a build takes minutes and wants about 1.1 GB of maintenance_work_mem per million
384-dim chunks: ``PGOPTIONS="-c maintenance_work_mem=2GB" manage.py migrate``. An interrupted run
leaves ``<name>_new`` behind (invalid, or valid beside the old); running it again drops it first.
"""

from django.db import migrations

INDEXES = {384: "rag_chunk_hnsw_half_384", 1536: "rag_chunk_hnsw_half_1536"}


def _rebuild(dims: int, name: str, ef_construction: int) -> list[str]:
    new = f"{name}_new"
    return [
        f"DROP INDEX CONCURRENTLY IF EXISTS {new}",
        f"CREATE INDEX CONCURRENTLY {new} ON rag_knowledgechunk USING hnsw "
        f"((embedding::halfvec({dims})) halfvec_cosine_ops) WITH (m = 16, ef_construction = {ef_construction}) "
        f"WHERE dimensions = {dims}",
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        f"ALTER INDEX {new} RENAME TO {name}",
    ]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("rag", "0008_chunk_site_locale_index")]

    operations = [
        migrations.RunSQL(_rebuild(dims, name, 128), _rebuild(dims, name, 64))
        for dims, name in INDEXES.items()
    ]
