"""Throwaway Redis and PostgreSQL servers that a fault test may stop, kill and restart.

The machine's shared PostgreSQL (5432) and Redis (6379) serve every other test run and the dev
site, so no fault test ever touches them: a scenario that needs a dependency to go away starts
its own copy on a free port, points the web server and worker at it, and restarts that.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

from tests.conftest import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class PrivateRedis:
    """``redis-server`` on a free port, in its own directory.

    ``appendonly=True`` mirrors a properly configured production Redis (the broker's queues survive
    a restart); ``False`` mirrors what docker-compose.yml and scripts/services.sh run today.
    """

    def __init__(self, *, appendonly: bool, unix_socket: bool = False) -> None:
        self.appendonly = appendonly
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="lectern-faults-redis-"))
        # Also listen on a Unix socket (tests/faults/netns.py forwards to it from another namespace).
        self.socket = str(self.dir / "redis.sock") if unix_socket else None
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)

    def start(self) -> None:
        args = [
            REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec",
            "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        if self.socket:
            args += ["--unixsocket", self.socket, "--unixsocketperm", "700"]
        self.proc = subprocess.Popen(args, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"private redis did not start:\n{self.log()}")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): with appendonly, everything acknowledged is on disk."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)

    def restart(self, *, down_for: float = 0.0, hard: bool = False) -> None:
        (self.kill if hard else self.stop)()
        time.sleep(down_for)
        self.start()
        self.restarts += 1

    def log(self) -> str:
        path = self.dir / "redis.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the Debian packages ship the ``postgres`` OS user.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PrivatePostgres:
    """A PostgreSQL 15 cluster in a temporary directory, on a free port, with pgvector.

    fsync is off: it is a scratch cluster, and crash recovery after ``kill()`` still works because
    the operating system (unlike the postmaster) does not crash.
    """

    user = "lectern"
    password = "lectern"  # noqa: S105 - a throwaway cluster on 127.0.0.1 that trusts local logins

    def __init__(self, *, db_name: str = "lectern_faults") -> None:
        self.db_name = db_name
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="lectern-faults-pg-"))
        self.data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres")
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"postgres://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.db_name}"

    def connect(self, dbname: str | None = None, *, user: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, dbname=dbname or self.db_name, user=user or self.user,
            autocommit=True, connect_timeout=3,
        )  # fmt: skip

    def init(self) -> None:
        """initdb, start, and create the role, the database and pgvector (in template1 too)."""
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True,
        )  # fmt: skip
        self.start()
        with self.connect("postgres", user="postgres") as conn:
            conn.execute(f"CREATE ROLE {self.user} LOGIN CREATEDB PASSWORD '{self.password}'")
            conn.execute(f"CREATE DATABASE {self.db_name} OWNER {self.user}")
        for db in ("template1", self.db_name):
            with self.connect(db, user="postgres") as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=50"
        )
        self._ctl("-o", options, "-l", str(self.dir / "postgres.log"), "-w", "-t", "30", "start")

    def stop(self, *, mode: str = "fast") -> None:
        """``fast``: terminate every session and shut down cleanly; ``immediate``: a crash."""
        self._ctl("-m", mode, "-w", "-t", "30", "stop")

    def restart(self, *, down_for: float = 0.0, mode: str = "immediate") -> None:
        self.stop(mode=mode)
        time.sleep(down_for)
        self.start()
        self.restarts += 1

    def log(self) -> str:
        path = self.dir / "postgres.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def close(self) -> None:
        try:
            self.stop(mode="immediate")
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def signal_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a process group (our subprocesses run in their own session)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (the prefork pool processes of a Celery worker), from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 is the parent pid; the command name (field 2) may contain spaces, so split after it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)
