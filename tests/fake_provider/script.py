"""What the fake provider says: scripted behaviours, and the reply bodies in each wire format.

Tests describe *what should go wrong next* ("the next two calls to /v1/messages for model X get a
429") instead of patching SDK internals, so the SDK, httpx2 and our error mapping all run for real.
Reply text, usage and vectors are deterministic so assertions can name exact values.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
import re
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(kw_only=True)
class Behaviour:
    """How the server answers one request. Every field is optional; the default is a clean reply."""

    latency: float = 0.0  # seconds slept before answering (interrupted by server shutdown)
    status: int | None = None  # answer with this HTTP error status and a provider-shaped error body
    retry_after: float | str | None = None  # value of the ``retry-after`` header on error answers
    error_type: str | None = None  # overrides the provider error type derived from ``status``
    error_message: str | None = None
    hang: float | None = None  # seconds to stall without answering, then drop the connection
    stall_after: int | None = None  # streaming: go silent after N text deltas (for ``hang`` s, default 30)
    delta_delay: float = 0.0  # streaming: seconds between text deltas, so browsers see text arrive
    cut_stream_after: int | None = None  # streaming: close the connection after N text deltas
    stream_error: str | None = None  # with cut_stream_after: send an SSE ``error`` event of this type first
    reply: str | None = None  # reply text instead of the default echo
    # Overrides computed usage. Anthropic: input_tokens, output_tokens, cache_creation_input_tokens,
    # cache_read_input_tokens. OpenAI chat: prompt_tokens, completion_tokens, cached_tokens.
    usage: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Behaviour:
        """Build from JSON sent to the control endpoint, rejecting unknown keys so typos fail loudly."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown behaviour keys: {sorted(unknown)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class ScriptEntry:
    path: str
    model: str | None
    remaining: int
    behaviour: Behaviour

    def matches(self, path: str, model: str | None) -> bool:
        # Suffix matching lets one entry cover OpenAI-compatible servers mounted under any prefix.
        path_ok = path == self.path or path.endswith(self.path)
        return path_ok and (self.model is None or self.model == model)


class Script:
    """A FIFO of scripted behaviours shared by all handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[ScriptEntry] = []

    def add(self, *, path: str, model: str | None = None, times: int = 1, behaviour: Behaviour) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._entries.append(ScriptEntry(path=path, model=model, remaining=times, behaviour=behaviour))

    def take(self, *, path: str, model: str | None) -> Behaviour | None:
        """Consume one use of the first entry matching this request, or return None for a clean reply."""
        with self._lock:
            for entry in self._entries:
                if entry.matches(path, model):
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        self._entries.remove(entry)
                    return entry.behaviour
        return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"path": e.path, "model": e.model, "remaining": e.remaining, **e.behaviour.to_dict()}
                for e in self._entries
            ]


# -- wire formats -----------------------------------------------------------------------------------

ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}
OPENAI_ERROR_CODES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "overloaded"),
    529: ("server_error", "overloaded"),
}
DEFAULT_EMBEDDING_DIMENSIONS = 1536
_ids = itertools.count(1)
_WORD = re.compile(r"\S+\s*")


def route(path: str) -> str | None:
    """Which API a path belongs to; suffix matching serves OpenAI-compatible servers under any prefix."""
    if path.endswith("/v1/messages"):
        return "anthropic_messages"
    if path.endswith("/chat/completions"):
        return "openai_chat"
    if path.endswith("/embeddings"):
        return "openai_embeddings"
    return None


def count_words(text: str) -> int:
    """Our token estimate: close enough for usage assertions, and trivially predictable."""
    return len(text.split())


class PromptCache:
    """Remembers cached prompt prefixes so the second identical request reports a cache read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[str] = set()

    def seen(self, key: str) -> bool:
        """True if the prefix was cached before; records it either way."""
        with self._lock:
            found = key in self._keys
            self._keys.add(key)
            return found

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


@dataclass(kw_only=True)
class Reply:
    id: str
    model: str
    text: str
    stop_reason: str
    usage: dict[str, int]

    @property
    def deltas(self) -> list[str]:
        return _WORD.findall(self.text)


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def _text_of(content: Any) -> str:
    return " ".join(str(b.get("text", "")) for b in _blocks(content))


def _reply_text(
    *, body: dict[str, Any], messages: list[dict[str, Any]], behaviour: Behaviour
) -> tuple[str, str]:
    """Echo the start of the last user message, cut to max_tokens words like a real model would be."""
    if behaviour.reply is not None:
        text = behaviour.reply
    else:
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        first_words = " ".join(_text_of(last_user.get("content")).split()[:8])
        text = f"This is a fake reply from {body.get('model')} about: {first_words}"
    stop_reason = behaviour.stop_reason or "end_turn"
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    words = _WORD.findall(text)
    if isinstance(limit, int) and len(words) > limit:
        text, stop_reason = "".join(words[:limit]).rstrip(), behaviour.stop_reason or "max_tokens"
    return text, stop_reason


def anthropic_reply(body: dict[str, Any], behaviour: Behaviour, cache: PromptCache) -> Reply:
    """Build the reply and its usage, including prompt-cache writes and reads for cache_control prefixes."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    blocks = _blocks(body.get("system")) + [b for m in messages for b in _blocks(m.get("content"))]
    marked = [i for i, b in enumerate(blocks) if b.get("cache_control")]
    if body.get("cache_control") and blocks:
        marked.append(len(blocks) - 1)  # top-level automatic caching marks the last block
    words = [count_words(str(b.get("text", ""))) for b in blocks]
    usage = {"input_tokens": sum(words), "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    if marked:
        end = max(marked) + 1
        key = hashlib.sha256(
            json.dumps([body.get("model"), blocks[:end]], sort_keys=True).encode()
        ).hexdigest()
        prefix = sum(words[:end])
        usage["input_tokens"] -= prefix
        usage["cache_read_input_tokens" if cache.seen(key) else "cache_creation_input_tokens"] = prefix
    text, stop_reason = _reply_text(body=body, messages=messages, behaviour=behaviour)
    usage["output_tokens"] = len(_WORD.findall(text))
    usage.update(behaviour.usage)
    return Reply(
        id=f"msg_fake_{next(_ids)}",
        model=str(body.get("model")),
        text=text,
        stop_reason=stop_reason,
        usage=usage,
    )


def anthropic_message(reply: Reply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": reply.usage,
    }


def _sse(event: str | None, data: dict[str, Any]) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def anthropic_events(reply: Reply) -> Iterator[tuple[bool, bytes]]:
    """The real Messages stream: (is_text_delta, frame) pairs so the server can cut after N deltas."""
    start_usage = {**reply.usage, "output_tokens": 1}
    start = {**anthropic_message(reply), "content": [], "stop_reason": None, "usage": start_usage}
    yield False, _sse("message_start", {"type": "message_start", "message": start})
    block = {"type": "text", "text": ""}
    yield (
        False,
        _sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
    )
    yield False, _sse("ping", {"type": "ping"})
    for delta in reply.deltas:
        frame = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": delta}}
        yield True, _sse("content_block_delta", frame)
    yield False, _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    delta = {"stop_reason": reply.stop_reason, "stop_sequence": None}
    yield False, _sse("message_delta", {"type": "message_delta", "delta": delta, "usage": reply.usage})
    yield False, _sse("message_stop", {"type": "message_stop"})


def anthropic_error_event(error_type: str) -> bytes:
    return _sse("error", {"type": "error", "error": {"type": error_type, "message": f"fake {error_type}"}})


def error_response(kind: str, behaviour: Behaviour) -> tuple[int, dict[str, Any], dict[str, str]]:
    """An error status with the body each SDK expects, so it raises its own exception classes."""
    status = behaviour.status or 500
    headers: dict[str, str] = {}
    if behaviour.retry_after is not None:
        headers["retry-after"] = str(behaviour.retry_after)
    if kind == "anthropic_messages":
        error_type = behaviour.error_type or ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        message = behaviour.error_message or f"fake {error_type}"
        request_id = f"req_fake_{next(_ids)}"
        headers["request-id"] = request_id
        body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}
        return status, body, headers
    error_type, code = OPENAI_ERROR_CODES.get(status, ("server_error", None))
    error_type = behaviour.error_type or error_type
    message = behaviour.error_message or f"fake {error_type} ({status})"
    return status, {"error": {"message": message, "type": error_type, "param": None, "code": code}}, headers


def openai_reply(body: dict[str, Any], behaviour: Behaviour) -> Reply:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    text, stop_reason = _reply_text(body=body, messages=messages, behaviour=behaviour)
    finish = {"end_turn": "stop", "max_tokens": "length"}.get(stop_reason, stop_reason)
    usage = {
        "prompt_tokens": sum(count_words(_text_of(m.get("content"))) for m in messages),
        "completion_tokens": len(_WORD.findall(text)),
        "cached_tokens": 0,
    }
    usage.update(behaviour.usage)
    return Reply(
        id=f"chatcmpl-fake{next(_ids)}",
        model=str(body.get("model")),
        text=text,
        stop_reason=finish,
        usage=usage,
    )


def _openai_usage(usage: dict[str, int]) -> dict[str, Any]:
    prompt, completion = usage["prompt_tokens"], usage["completion_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": usage.get("cached_tokens", 0)},
    }


def openai_completion(reply: Reply) -> dict[str, Any]:
    message = {"role": "assistant", "content": reply.text, "refusal": None}
    return {
        "id": reply.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.stop_reason}],
        "usage": _openai_usage(reply.usage),
    }


def openai_chunks(reply: Reply, *, include_usage: bool) -> Iterator[tuple[bool, bytes]]:
    """``data:`` chunks ending in ``[DONE]``; with include_usage every chunk has usage null but the last."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": reply.id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": reply.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            data["usage"] = None
        return data

    yield False, _sse(None, chunk({"role": "assistant", "content": ""}, None))
    for delta in reply.deltas:
        yield True, _sse(None, chunk({"content": delta}, None))
    yield False, _sse(None, chunk({}, reply.stop_reason))
    if include_usage:
        final = {**chunk({}, None), "choices": [], "usage": _openai_usage(reply.usage)}
        yield False, _sse(None, final)
    yield False, b"data: [DONE]\n\n"


def openai_error_event(error_type: str) -> bytes:
    return _sse(
        None, {"error": {"message": f"fake {error_type}", "type": error_type, "param": None, "code": None}}
    )


def fake_vector(text: str, *, model: str, dimensions: int) -> list[float]:
    """A unit vector seeded by the text, so equal texts embed equally across runs and processes."""
    seed = int.from_bytes(hashlib.sha256(f"{model}\x00{text}".encode()).digest()[:8], "big")
    rng = random.Random(seed)  # noqa: S311 - deterministic test data, not security
    values = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]


def openai_embeddings(body: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else [str(t) for t in raw or []]
    model = str(body.get("model"))
    dimensions = int(body.get("dimensions") or DEFAULT_EMBEDDING_DIMENSIONS)
    data = []
    for index, text in enumerate(texts):
        vector: Any = fake_vector(text, model=model, dimensions=dimensions)
        if body.get("encoding_format") == "base64":  # the SDK's default: little-endian float32
            vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(count_words(t) for t in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens, **behaviour.usage}
    return {"object": "list", "data": data, "model": model, "usage": usage}
