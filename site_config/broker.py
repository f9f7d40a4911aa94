"""The Redis broker transport, with one Redis client object per channel instead of one per call.

kombu's Redis channel builds a new ``redis.Redis`` for every command it sends outside the
consumer's poll (``conn_or_acquire``: each task publish, queue size or ack), on the same
connection pool each time. Building one fills a table of some 170 response callbacks, which was
about a fifth of the CPU of publishing a task at submit (``bench/submit_profile.py``). A client
over a connection pool is safe to share between threads, and the connections still come from the
channel's pool, so reusing one client per channel and pool changes nothing else. Used for
``redis://`` broker URLs only (``CELERY_BROKER_TRANSPORT`` in the settings); other schemes keep
kombu's own transport.
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._shared_client
        # A channel that reconnects gets a new pool: build a client for it rather than keep one
        # bound to the pool it dropped.
        if client is None or client.connection_pool is not self.pool:
            client = self._shared_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
