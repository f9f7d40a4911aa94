"""The broker transport reuses one Redis client per channel (site_config/broker.py) and still
delivers every message, also after the channel's connection pool is replaced."""

import uuid

import redis
from django.conf import settings
from kombu import Exchange, Queue

from site_config import broker
from site_config.celery_app import app


def test_the_celery_app_uses_the_shared_client_transport_for_redis_urls():
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    with app.connection_for_write() as connection:
        assert isinstance(connection.default_channel, broker.Channel)


def test_publishes_reuse_one_client_and_every_message_arrives():
    name = f"lectern-test-broker-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name), routing_key=name)
    raw = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            producer = connection.Producer(channel)
            clients = set()
            for number in range(5):
                producer.publish({"n": number}, exchange=queue.exchange, routing_key=name, declare=[queue])
                clients.add(id(channel._create_client()))
            assert len(clients) == 1
            channel._disconnect_pools()  # as when the channel reconnects
            producer.publish({"n": 5}, exchange=queue.exchange, routing_key=name, declare=[queue])
            assert channel._create_client().connection_pool is channel.pool
            with connection.SimpleQueue(queue) as simple:
                received = [simple.get(timeout=5).payload for _ in range(6)]
        assert sorted(message["n"] for message in received) == list(range(6))
    finally:
        raw.delete(name, f"_kombu.binding.{name}")
