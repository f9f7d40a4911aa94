# The HNSW indexes store half-precision (float16) copies of the vectors: half the index size, so
# twice the chunks per GB of RAM, at the same recall (docs/BENCHMARKS.md, "Retrieval latency and
# HNSW recall"). The column keeps full-precision vectors; only the indexes change, so this is an
# index rebuild, not a table rewrite. Queries cast to halfvec(N) exactly as the index expression
# does (ai_core.rag.selectors.vector_query_sql, models.HNSW_INDEX_TYPE).
#
# Non-atomic, with CREATE/DROP INDEX CONCURRENTLY: on a database with data, reads and writes go
# on while the new index builds (the old one serves queries until it is dropped). A big index
# builds much faster when its graph fits in maintenance_work_mem (about 1.1 GB per million
# 384-dim chunks): run `PGOPTIONS="-c maintenance_work_mem=2GB" manage.py migrate`. An
# interrupted run leaves an invalid index behind; running the migration again drops and rebuilds it.

from django.db import migrations


def _create(name: str, dims: int, kind: str) -> list[str]:
    return [
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        f"CREATE INDEX CONCURRENTLY {name} ON rag_knowledgechunk USING hnsw "
        f"((embedding::{kind}({dims})) {kind}_cosine_ops) WITH (m = 16, ef_construction = 64) "
        f"WHERE dimensions = {dims}",
    ]


def _swap(dims: int, *, halfvec_index: str, vector_index: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        [*_create(halfvec_index, dims, "halfvec"), f"DROP INDEX CONCURRENTLY IF EXISTS {vector_index}"],
        [*_create(vector_index, dims, "vector"), f"DROP INDEX CONCURRENTLY IF EXISTS {halfvec_index}"],
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("rag", "0002_page_index_fingerprint"),
    ]

    operations = [
        _swap(384, halfvec_index="rag_chunk_hnsw_half_384", vector_index="rag_chunk_hnsw_384"),
        _swap(1536, halfvec_index="rag_chunk_hnsw_half_1536", vector_index="rag_chunk_hnsw_1536"),
    ]
