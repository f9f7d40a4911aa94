"""Enforce "no model call inside an HTTP request handler".

The web middleware marks the request/response cycle; provider lookups check the mark and raise.
A violation is a programming error (a slow, costly call holding a web worker), so it fails loudly
in every environment rather than being logged and tolerated.
"""

from __future__ import annotations

from contextvars import ContextVar

_in_http_request: ContextVar[str | None] = ContextVar("lectern_in_http_request", default=None)


class ModelCallInRequestError(RuntimeError):
    pass


def mark_http_request(path: str):
    return _in_http_request.set(path)


def unmark_http_request(token) -> None:
    _in_http_request.reset(token)


def assert_not_in_http_request() -> None:
    path = _in_http_request.get()
    if path is not None:
        raise ModelCallInRequestError(
            f"A model provider was used while handling the HTTP request {path!r}. "
            "Model calls belong in Celery tasks: enqueue one and return 202."
        )
