"""PostgreSQL crashes and restarts while the worker is indexing pages: after the task retries, the
knowledge index is consistent (what a fresh re-index would produce, no duplicates, every page
marked indexed). And while a provider call is under way: each answer is stored once, from one call.

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


REQUESTS = 6


def _requests(cluster, ids: list[str]) -> dict[str, str]:
    with cluster.connect() as conn:
        return {
            str(pk): status
            for pk, status in conn.execute(
                "SELECT id, status FROM ai_core_airequest WHERE id = ANY(%s::uuid[])", [ids]
            ).fetchall()
        }


def _usage(cluster, ids: list[str]) -> list[tuple[str, str, int]]:
    with cluster.connect() as conn:
        rows = conn.execute(
            "SELECT request_id, outcome, input_tokens FROM ai_core_llmusagelog "
            "WHERE request_id = ANY(%s::uuid[]) AND operation = 'generation'",
            [ids],
        ).fetchall()
    return [(str(r), outcome, tokens) for r, outcome, tokens in rows]


def test_a_postgres_crash_while_the_provider_answers_stores_each_answer_once(
    fault_stack, fake_provider, private_postgres_cluster, fault_counts
):
    """The call under way when PostgreSQL crashes comes back while it is down: its usage row and its
    request cannot be written, and the task retries. The retry stores the answer it already has
    (kept in Redis) instead of asking the provider again: one call, one usage row per request."""
    started = time.monotonic()
    cluster = private_postgres_cluster
    fake_provider.script(path="/v1/messages", latency=1.0, reply="billing", times=10_000)
    env = {
        "DATABASE_URL": cluster.url,
        "DATABASE_CONN_MAX_AGE": "60",
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": fake_provider.base_url,
        "AI_FALLBACK_TO_LOCAL": "false",
    }
    stack = fault_stack("pg-answer", web=False, **env)
    seed_env = {**env, "LECTERN_TEST_ID": stack.test_id, "CELERY_TASK_ALWAYS_EAGER": "false"}
    ids = json.loads(
        run_module("tests.faults.pg_requests", str(REQUESTS), env=seed_env).strip().splitlines()[-1]
    )

    def calls() -> int:
        return len(fake_provider.requests_for(path="/v1/messages", containing="where is it?"))

    def one_done_and_one_under_way() -> bool:
        try:
            done = sum(s == "done" for s in _requests(cluster, ids).values())
            logged = len(_usage(cluster, ids))
        except Exception:  # noqa: BLE001 - not expected before the crash; poll again
            return False
        return done >= 1 and calls() > logged

    wait_for(one_done_and_one_under_way, timeout=90, message=f"no call under way:\n{stack.worker_log()}")
    cluster.restart(down_for=3, mode="immediate")  # every session dies while the call is answered

    def all_finished():
        try:
            statuses = _requests(cluster, ids)
        except Exception:  # noqa: BLE001 - the cluster is coming back
            return None
        return (
            statuses if len(statuses) == REQUESTS and all(s in FINISHED for s in statuses.values()) else None
        )

    statuses = wait_for(all_finished, timeout=120, message=f"requests not finished:\n{stack.worker_log()}")
    usage = _usage(cluster, ids)
    kept = stack.worker_log_full().count("not asking again")
    fault_counts.attempted = REQUESTS
    fault_counts.completed = sum(s == "done" for s in statuses.values())
    fault_counts.failed_cleanly = sum(s == "failed" for s in statuses.values())
    ok = [r for r, outcome, _ in usage if outcome == "ok"]
    fault_counts.duplicated = len(ok) - len(set(ok))
    fault_counts.seconds = time.monotonic() - started
    fault_counts.notes.append(
        f"PostgreSQL crashed with a call under way; provider calls {calls()}, usage rows {len(usage)} "
        f"({len(ok)} ok); answers stored by a retry without a new call: {kept}"
    )

    assert sorted(statuses.values()) == ["done"] * REQUESTS, f"{statuses}\n{stack.worker_log()}"
    assert calls() == REQUESTS, f"{calls()} calls for {REQUESTS} requests:\n{stack.worker_log()}"
    assert sorted(ok) == sorted(ids) and len(usage) == REQUESTS, usage
    assert all(tokens > 0 for _, _, tokens in usage)
