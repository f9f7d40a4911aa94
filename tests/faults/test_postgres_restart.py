"""PostgreSQL crashes and restarts while the worker is indexing pages: after the task retries, the
knowledge index is consistent (what a fresh re-index would produce, no duplicates, every page
marked indexed).

The worker runs on a private PostgreSQL cluster (``private_postgres_cluster``), so the crash
never touches the shared server; the checks read that cluster over psycopg. Embeddings come from
the fake OpenAI-compatible server with a delay, so indexing is slow enough to be interrupted.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from site_config.celery_app import app
from tests.conftest import tasks_routed_to, wait_for

from .conftest import run_manage, run_module
from .stack import FINISHED

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

PAGES = 8


def _index_rows(cluster) -> dict[int, list[tuple[int, str]]]:
    with cluster.connect() as conn:
        rows = conn.execute(
            "SELECT page_id, position, content_hash FROM rag_knowledgechunk WHERE page_id IS NOT NULL "
            "ORDER BY page_id, position"
        ).fetchall()
    chunks: dict[int, list[tuple[int, str]]] = {}
    for page_id, position, content_hash in rows:
        chunks.setdefault(page_id, []).append((position, content_hash))
    return chunks


def _states(cluster) -> dict[int, tuple[str, int]]:
    with cluster.connect() as conn:
        return {
            page_id: (status, count)
            for page_id, status, count in conn.execute(
                "SELECT page_id, status, chunk_count FROM rag_pageindexstate"
            ).fetchall()
        }


def _summaries(cluster) -> dict[int, str]:
    """The newest page-summary request of each page, by page id."""
    with cluster.connect() as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (page_id) page_id, status FROM ai_core_airequest "
            "WHERE prompt_key = 'page_summary' ORDER BY page_id, created_at DESC"
        ).fetchall()
    return dict(rows)


def _safe_states(cluster) -> dict[int, tuple[str, int]]:
    try:
        return _states(cluster)
    except Exception:  # noqa: BLE001 - the cluster is down for a moment; poll again
        return {}


def test_a_postgres_crash_mid_indexing_leaves_a_consistent_index_after_retries(
    fault_stack, fake_provider, private_postgres_cluster, fault_counts
):
    started = time.monotonic()
    cluster = private_postgres_cluster
    env = {
        "DATABASE_URL": cluster.url,
        "DATABASE_CONN_MAX_AGE": "60",
        "OPENAI_API_KEY": "sk-test",  # embeddings (and summaries) through the fake OpenAI server
        "OPENAI_BASE_URL": f"{fake_provider.base_url}/v1",
    }
    page_ids = json.loads(run_module("tests.faults.pg_seed", str(PAGES), env=env).strip().splitlines()[-1])
    fake_provider.script(path="/embeddings", latency=1.0, times=10_000)
    stack = fault_stack("pg-restart", web=False, **env)

    with tasks_routed_to(stack.queue):
        for page_id in page_ids:
            app.send_task("content.index_page", args=[page_id], queue=stack.queue)
    wait_for(
        lambda: len(_safe_states(cluster)) >= 2,
        timeout=90,
        message=f"indexing never started:\n{stack.worker_log()}",
    )
    cluster.restart(down_for=3, mode="immediate")  # a crash: every session dies, recovery on start

    states = wait_for(
        lambda: (s := _safe_states(cluster)) and len(s) == PAGES and s,
        timeout=150,
        message=f"not every page was indexed after the crash:\n{stack.worker_log()}",
    )
    # Indexing a page asks for its summary; the pages indexed just before the crash must get one too.
    summaries = wait_for(
        lambda: len(s := _summaries(cluster)) == PAGES and all(st in FINISHED for st in s.values()) and s,
        timeout=60,
        message=f"summaries missing: {_summaries(cluster)}\n{stack.worker_log()}",
    )
    chunks = _index_rows(cluster)
    fault_counts.attempted = PAGES
    fault_counts.completed = sum(status == "indexed" for status, _ in states.values())
    fault_counts.lost = PAGES - fault_counts.completed
    # Duplicates: a (page, content) pair stored twice (the seeded pages repeat no text).
    fault_counts.duplicated = sum(len(rows) - len({h for _, h in rows}) for rows in chunks.values())

    # A fresh re-index of every page, chunked again (--force: not skipped as unchanged), must find
    # nothing to embed and nothing to remove.
    output = run_manage(
        ["reindex", "--all", "--force"],
        env={**env, "LECTERN_TEST_ID": stack.test_id, "CELERY_TASK_ALWAYS_EAGER": "false"},
    ).stdout
    counts = re.search(r"(\d+) chunks, (\d+) embedded, (\d+) reused, (\d+) removed", output)
    after = _index_rows(cluster)
    retries = sum(path.read_text().count("retry: Retry in") for path in stack.logs.glob("worker-*.log"))
    fault_counts.seconds = time.monotonic() - started
    fault_counts.notes.append(
        f"PostgreSQL crashed once mid-indexing; {retries} index task retries; {output.strip().splitlines()[-1]}"
    )

    assert fault_counts.duplicated == 0
    assert {page_id: status for page_id, (status, _) in states.items()} == dict.fromkeys(page_ids, "indexed")
    assert {page_id: len(rows) for page_id, rows in chunks.items()} == {
        page_id: count for page_id, (_, count) in states.items()
    }
    assert all(positions == list(range(len(positions))) for positions in
               ([p for p, _ in rows] for rows in chunks.values()))  # fmt: skip
    assert counts is not None, output
    total, embedded, reused, removed = map(int, counts.groups())
    assert (embedded, removed) == (0, 0), output
    assert reused == total == sum(len(rows) for rows in chunks.values())
    assert after == chunks
    assert set(summaries) == set(page_ids)
