"""Resident memory of a Celery worker's pool processes once warm, per ``LECTERN_WORKER_WORKLOADS``.

Starts a real worker (dev settings, a private default queue nobody sends to, so it runs no task)
for each workload selection in turn, alternating them over the rounds, waits until every pool
process has logged that it warmed up (``site_config.celery_app``), reads VmRSS from /proc, stops
it, and prints a Markdown table.

    .venv/bin/python bench/worker_memory.py [--workloads maintenance,removals visitor] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from site_config.celery_app import WARMED_UP  # noqa: E402


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in tasks.read_text().split()]


def measure(workloads: str, *, concurrency: int, timeout: float) -> tuple[int, list[int], str]:
    """(main process kB, pool processes kB, what the first pool process warmed up)."""
    env = dict(
        os.environ,
        LECTERN_WORKER_WORKLOADS=workloads,
        CELERY_TASK_DEFAULT_QUEUE=f"bench-worker-memory-{os.getpid()}",
        DJANGO_SETTINGS_MODULE="site_config.settings.dev",
        OPENBLAS_NUM_THREADS="1",
    )
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own venv's celery
            [sys.executable, "-m", "celery", "-A", "site_config", "worker", f"--concurrency={concurrency}",
             f"--hostname=bench-memory-{os.getpid()}@localhost", "--loglevel=info"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + timeout
            while (text := Path(log.name).read_text()).count(WARMED_UP) < concurrency:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"worker for {workloads!r} did not warm up:\n{text[-2000:]}")
                time.sleep(0.2)
            warmed = text.split(WARMED_UP, 1)[1].splitlines()[0]
            return _rss_kb(proc.pid), [_rss_kb(c) for c in _children(proc.pid)], warmed
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["maintenance,removals", "visitor"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    rows = []
    for n in range(args.rounds):
        for workloads in args.workloads if n % 2 == 0 else args.workloads[::-1]:
            main_kb, pool_kb, warmed = measure(workloads, concurrency=args.concurrency, timeout=args.timeout)
            rows.append((workloads, n + 1, main_kb, pool_kb, warmed))
            print(f"  {workloads}, round {n + 1}: done", file=sys.stderr, flush=True)
    print("| LECTERN_WORKER_WORKLOADS | round | main process MB | each pool process MB | warmed up |")
    print("|---|---|---|---|---|")
    for workloads, n, main_kb, pool_kb, warmed in rows:
        pools = ", ".join(f"{kb / 1024:.0f}" for kb in pool_kb)
        print(f"| {workloads} | {n} | {main_kb / 1024:.0f} | {pools} | {warmed} |")


if __name__ == "__main__":
    main()
