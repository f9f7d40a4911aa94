"""Redis refused to every client of this process, as a stopped server refuses them."""

from __future__ import annotations

import redis


class RedisSwitch:
    """Every Redis command fails with ConnectionError while ``down``, whichever client sends it."""

    def __init__(self, monkeypatch):
        self.down = False
        self.refused = 0
        real = redis.connection.AbstractConnection.send_packed_command

        def send(connection, command, check_health=True):
            if self.down:
                self.refused += 1
                raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            return real(connection, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
