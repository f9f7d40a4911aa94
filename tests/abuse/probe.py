"""Send abusive requests, count every answer, and collect failures instead of stopping at the first.

One test sends dozens of requests; a 500 on the third must not hide a 500 on the thirtieth, so the
``Prober`` records them all and ``check()`` fails once with the whole list. The session ``TALLY``
feeds the summary printed at the end of the run (``conftest.pytest_terminal_summary``).
"""

from __future__ import annotations

import json
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse
from django.test import Client

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Tally:
    """Every abusive request of the session, by status class and by endpoint."""

    attempted: int = 0
    by_class: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    endpoints: set[str] = field(default_factory=set)
    server_errors: list[str] = field(default_factory=list)
    unescaped: list[str] = field(default_factory=list)

    def record(self, *, endpoint: str, status: int) -> None:
        self.attempted += 1
        self.by_class[f"{status // 100}xx"] += 1
        self.by_status[status] += 1
        self.endpoints.add(endpoint)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests_attempted": self.attempted,
            "endpoints": len(self.endpoints),
            "2xx": self.by_class["2xx"],
            "3xx": self.by_class["3xx"],
            "4xx": self.by_class["4xx"],
            "5xx": self.by_class["5xx"],
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "unexpected_5xx": len(self.server_errors),
            "server_errors": self.server_errors,
            "unescaped_renderings": self.unescaped,
        }


TALLY = Tally()


def abuse_client(**kwargs: Any) -> Client:
    """A test client that returns 500 responses (with ``exc_info``) instead of raising, so they count."""
    return Client(raise_request_exception=False, **kwargs)


def _exception_line(response: HttpResponse) -> str:
    exc_info = getattr(response, "exc_info", None)
    if not exc_info:
        return ""
    frames = traceback.extract_tb(exc_info[2])
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f" [{exc_info[0].__name__}: {exc_info[1]}{where}]"


class Prober:
    """Sends requests through a test client for one endpoint and records what came back."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.failures: list[str] = []
        self.sent = 0

    def send(
        self,
        client: Client,
        method: str,
        path: str,
        *,
        data: bytes | str = b"",
        content_type: str = JSON,
        label: str,
        expect: Iterable[int] | None = None,
        json_error: bool = False,
        **extra: Any,
    ) -> HttpResponse:
        """One request. Fails (later, in ``check``) on a 5xx, on a status outside ``expect``, and,
        with ``json_error``, on a 4xx that is not a JSON ``{"error": {"message": ...}}``."""
        response = client.generic(method, path, data, content_type=content_type, **extra)
        status = response.status_code
        self.sent += 1
        TALLY.record(endpoint=self.endpoint, status=status)
        where = f"{label}: {method} {path}"
        expected = set(expect) if expect is not None else None
        if status >= 500 and not (expected and status in expected):  # /healthz may say 503 by design
            line = f"{where} -> {status}{_exception_line(response)}"
            self.failures.append(line)
            TALLY.server_errors.append(f"{self.endpoint} {line}")
        elif expected is not None and status not in expected:
            self.failures.append(f"{where} -> {status}, expected one of {sorted(expected)}")
        elif json_error and 400 <= status < 500 and not _has_json_error(response):
            self.failures.append(f"{where} -> {status} without a JSON error message")
        return response

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def check(self) -> None:
        assert self.sent, f"{self.endpoint}: no request was sent"
        assert not self.failures, (
            f"{self.endpoint}: {len(self.failures)} of {self.sent} failed:\n" + "\n".join(self.failures)
        )


def _has_json_error(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith(JSON):
        return False
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error, dict) and bool(error.get("message"))


def assert_escaped(html: str, *, where: str, raw: Iterable[str], escaped: Iterable[str]) -> None:
    """The payload shows up as text (``escaped`` forms present), never as markup (``raw`` absent)."""
    missing = [e for e in escaped if e not in html]
    present = [r for r in raw if r in html]
    if missing or present:
        TALLY.unescaped.append(where)
    assert not present, f"{where}: unescaped payload rendered: {present}"
    assert not missing, f"{where}: expected the escaped payload {missing} in the page"
