"""Django's PostgreSQL backend, with a pool checkout that costs no round trip.

With ``DATABASE_POOL`` (the web server) a pooled connection is handed to a request only if
PostgreSQL has not closed it. psycopg_pool's own check, which Django installs for
``CONN_HEALTH_CHECKS``, sends an empty query on every checkout: one more round trip for every web
request that touches the database. An idle connection in autocommit receives nothing from the
server unless the server is ending it (``pg_terminate_backend``, a restart, an idle timeout send
their FATAL notice and close the socket), so its socket is polled instead. Readable means the
server sent something: the connection is closed and given back, the pool replaces it, and the
next one is taken. Without a pool this backend is Django's.
"""

from __future__ import annotations

import logging
import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq

logger = logging.getLogger(__name__)


def idle_connection_problem(conn: psycopg.Connection) -> str:
    """Why ``conn`` must not be handed out, or "" when it is open, idle and its socket is quiet."""
    if conn.closed:
        return "the connection is closed"
    status = conn.info.transaction_status
    if status != pq.TransactionStatus.IDLE:
        return f"the connection is not idle ({status.name})"
    poller = select.poll()  # not select(): a web process may hold more than 1024 descriptors
    poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        return "the server sent data to an idle connection (it terminated or closed it)"
    return ""


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        pool = self.pool
        if pool is None:
            return connection
        # Every connection in the pool may have been closed at once (a PostgreSQL restart): each is
        # discarded in turn, and the pool connects afresh for the last try (its timeout applies).
        for _ in range(pool.max_size + 1):
            problem = idle_connection_problem(connection)
            if not problem:
                return connection
            logger.info("pooled connection discarded: %s", problem)
            connection.close()
            pool.putconn(connection)  # closed: the pool opens a replacement
            connection = super().get_new_connection(conn_params)
        return connection
