"""What the outage and Stop tests share: Redis refused to every client of this process (as a
stopped server refuses them), a submitted request, and the usage the fake Claude reports."""

from __future__ import annotations

import redis
from django.contrib.auth import get_user_model

from ai_core.models import AIRequest
from ai_core.services.requests import ai_request_submit

USAGE = {
    "input_tokens": 900,
    "output_tokens": 40,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


def submitted(text: str, *, prompt_key: str = "content_classify", variable: str = "text") -> AIRequest:
    """A request submitted (and its budget held) for a new user."""
    user = get_user_model().objects.create_user("asker", "asker@example.com", "pw-asker-1")
    return ai_request_submit(prompt_key=prompt_key, payload={variable: text}, user=user)


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
