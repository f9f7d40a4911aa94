"""Structured logs that name the AI request they are about, in the web process and in the worker.

A context variable holds the current ``ai_request_id`` / ``prompt_key`` / ``task_id``; a logging
filter copies it onto every record, so no call site has to pass it. A contextvar (not a
thread-local) because the ASGI views run in asyncio tasks and ``sync_to_async`` threads, and each
request gets its own copy.

The web process and the Celery worker are different processes, so the value travels in the task
message: ``before_task_publish`` adds it to the message headers, ``task_prerun`` binds it from
``task.request`` in the worker and ``task_postrun`` puts back whatever was bound before (with
eager tasks the "worker" is the web request itself, whose context must survive the task).

Kept free of Django: it needs only ``logging`` and, for the signal handlers, Celery.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

#: The fields every record carries ("" when unknown), in the order they appear in a plain line.
FIELDS = ("ai_request_id", "prompt_key", "task_id")
#: Message headers that carry the fields from the publisher into the worker.
HEADERS = {"ai_request_id": "lectern_ai_request_id", "prompt_key": "lectern_prompt_key"}

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "lectern_log_context", default=_EMPTY
)
# task_id -> the token that restores the context from before the task ran.
_task_tokens: dict[str, contextvars.Token] = {}


def bind_log_context(**fields: Any) -> contextvars.Token:
    """Add fields to the current context until the caller (or the request scope) resets it."""
    clean = {name: str(value) for name, value in fields.items() if value not in (None, "")}
    return _context.set({**_context.get(), **clean})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    token = bind_log_context(**fields)
    try:
        yield
    finally:
        _context.reset(token)


@contextmanager
def fresh_log_context() -> Iterator[None]:
    """A scope that starts empty: a thread that served one HTTP request must not tag the next."""
    token = _context.set(_EMPTY)
    try:
        yield
    finally:
        _context.reset(token)


class LogContextFilter(logging.Filter):
    """Put the context on the record (attach it to handlers: logger filters miss propagated records)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        if not context.get("ai_request_id"):
            # Django logs a view's 4xx/5xx after the middleware has dropped the request's context,
            # passing the request along: take the id from its URL (``<uuid:request_id>``) then.
            url_kwargs = getattr(
                getattr(getattr(record, "request", None), "resolver_match", None), "kwargs", {}
            )
            if url_kwargs.get("request_id"):
                context = {**context, "ai_request_id": str(url_kwargs["request_id"])}
        for name in FIELDS:
            if not getattr(record, name, ""):
                setattr(record, name, context.get(name, ""))
        # For the plain format: " [ai_request_id=... task_id=...]" or nothing.
        tags = " ".join(f"{name}={getattr(record, name)}" for name in FIELDS if getattr(record, name))
        record.log_context = f" [{tags}]" if tags else ""
        return True


# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged too.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "log_context",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so log shippers need no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name in FIELDS:
            if getattr(record, name, ""):
                entry[name] = getattr(record, name)
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRS and name not in FIELDS and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


# --- Celery: carry the context through the message.


def _on_before_task_publish(headers: dict | None = None, **kwargs: Any) -> None:
    if headers is None:
        return
    context = _context.get()
    for field, header in HEADERS.items():
        if context.get(field) and not headers.get(header):
            headers[header] = context[field]


def _on_task_prerun(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    request = getattr(task, "request", None)
    fields = {field: getattr(request, header, None) for field, header in HEADERS.items()}
    token = bind_log_context(task_id=task_id, **fields)
    if task_id:
        _task_tokens[task_id] = token


def _on_task_postrun(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # bound in another context (should not happen); start clean instead
            _context.set(_EMPTY)


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(
        _on_before_task_publish, weak=False, dispatch_uid="lectern.logcontext.publish"
    )
    task_prerun.connect(_on_task_prerun, weak=False, dispatch_uid="lectern.logcontext.prerun")
    task_postrun.connect(_on_task_postrun, weak=False, dispatch_uid="lectern.logcontext.postrun")
