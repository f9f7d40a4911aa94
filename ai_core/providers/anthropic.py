"""Claude through the official ``anthropic`` SDK (2.x, Messages API version 2026-10-21).

Kept free of Django: the registry passes plain settings in, so this class can be used from the
shell, a benchmark or a Celery worker alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import anthropic
import httpx2

from ai_core.providers._http import (
    DEFAULT_MAX_RETRIES,
    LazyClient,
    build_timeout,
    capped_timeout,
    elapsed_ms,
    error_for_status,
    stream_finished,
)
from ai_core.providers.base import GenerationRequest, GenerationResult, StreamEvent, Usage
from ai_core.providers.errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderStreamInterrupted,
    ProviderTimeout,
)

# Mid-stream ``error`` events arrive on a 200 response, so the error type names the failure.
_STATUS_FOR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
_CACHE = {"type": "ephemeral"}


class AnthropicProvider:
    """A ``GenerationProvider`` for Claude models.

    ``request.temperature`` is deliberately not sent: API version 2026-10-21 rejects sampling
    parameters with a 400 and SDK 2.x no longer accepts them.
    """

    label = ""  # a real language model, so no disclaimer is shown next to its output

    def __init__(
        self,
        *,
        alias: str,
        api_key: str,
        base_url: str | None = None,
        timeout: Mapping[str, float] | float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.alias = alias
        self.base_url = base_url
        self.timeout = build_timeout(timeout)
        # 0 by default: the resilience layer retries and falls back across providers (see _http).
        self.max_retries = max_retries
        self.default_headers = dict(default_headers or {})
        self._api_key = api_key
        self._client = LazyClient(self._build_client)

    def _build_client(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers or None,
        )

    @property
    def client(self) -> anthropic.Anthropic:
        return self._client.get()

    def __repr__(self) -> str:
        return f"AnthropicProvider(alias={self.alias!r}, base_url={self.base_url!r})"  # never the key

    # -- requests --------------------------------------------------------------------------------
    def _params(self, request: GenerationRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        context_marked = False
        for message in request.messages:
            block: dict[str, Any] = {"type": "text", "text": message.content}
            # The first user block carries the retrieved context in our prompts: long and shared
            # by follow-up questions, so it is the prefix worth caching.
            if request.cache_context and message.role == "user" and not context_marked:
                block["cache_control"] = _CACHE
                context_marked = True
            messages.append({"role": message.role, "content": [block]})
        params: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
        }
        if request.system:
            system: dict[str, Any] = {"type": "text", "text": request.system}
            if request.cache_system:
                system["cache_control"] = _CACHE
            params["system"] = [system]
        if request.metadata.get("user_id"):
            params["metadata"] = {"user_id": request.metadata["user_id"]}  # the only key the API takes
        if request.timeout_s is not None:
            params["timeout"] = capped_timeout(self.timeout, request.timeout_s)
        return params

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """One non-streaming Messages call."""
        started = time.monotonic()
        try:
            message = self.client.messages.create(**self._params(request))
        except anthropic.AnthropicError as err:
            raise self._map_error(err, request.model) from err
        text = "".join(block.text for block in message.content if block.type == "text")
        return GenerationResult(
            text=text,
            provider=self.alias,
            model=message.model or request.model,
            usage=_usage(message.usage),
            stop_reason=message.stop_reason,
            latency_ms=elapsed_ms(started),
        )

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        """Yield text deltas, then one ``done`` event; the request starts on the first ``next()``.

        Once any text has reached the caller, every failure is ``ProviderStreamInterrupted``
        carrying that text, so the caller can decide what to do with what it already showed.
        Before that, failures are classified as for ``generate``.
        """
        started = time.monotonic()
        params = self._params(request)
        try:
            events = self.client.messages.create(**params, stream=True)
        except anthropic.AnthropicError as err:
            raise self._map_error(err, request.model) from err

        parts: list[str] = []
        usage = Usage()
        model = request.model
        stop_reason: str | None = None
        finished = False
        try:
            with events:
                for event in events:
                    if event.type == "message_start":
                        usage = _usage(event.message.usage)
                        model = event.message.model or model
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        parts.append(event.delta.text)
                        yield StreamEvent(kind="delta", text=event.delta.text)
                    elif event.type == "message_delta":
                        stop_reason = event.delta.stop_reason
                        _merge_delta_usage(usage, event.usage)
                    elif event.type == "message_stop":
                        finished = True
        except (anthropic.AnthropicError, httpx2.HTTPError) as err:
            raise self._stream_error(err, "".join(parts), model) from err
        yield stream_finished(
            provider=self.alias, model=model, parts=parts, usage=usage, stop_reason=stop_reason,
            completed=finished, started=started, missing="message_stop",
        )  # fmt: skip

    # -- errors ----------------------------------------------------------------------------------
    def _map_error(self, err: Exception, model: str) -> ProviderError:
        where = {"provider": self.alias, "model": model}
        if isinstance(err, anthropic.APIStatusError):
            status = err.status_code
            if status < 400:  # an ``error`` event inside a 200 stream
                status = _STATUS_FOR_TYPE.get(str(err.type or ""), 500)
            return error_for_status(
                status, err.api_message or err.message, headers=err.response.headers, **where
            )
        if isinstance(err, anthropic.APITimeoutError | httpx2.TimeoutException):
            return ProviderTimeout(str(err), **where)
        if isinstance(err, anthropic.APIConnectionError | httpx2.TransportError):
            return ProviderConnectionError(str(err), **where)
        if isinstance(err, anthropic.APIResponseValidationError):
            return ProviderServerError(f"unexpected response shape: {err}", status=err.status_code, **where)
        return ProviderError(str(err), **where)

    def _stream_error(self, err: Exception, partial: str, model: str) -> ProviderError:
        mapped = self._map_error(err, model)
        if partial or isinstance(mapped, ProviderConnectionError):
            # A connection dropped after the 200 is an interrupted stream even with no text yet.
            return ProviderStreamInterrupted(
                f"stream interrupted: {mapped}",
                partial_text=partial,
                provider=self.alias,
                model=model,
                status=mapped.status,
            )
        return mapped


def _usage(usage: Any) -> Usage:
    return Usage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_tokens=usage.cache_read_input_tokens or 0,
        cache_write_tokens=usage.cache_creation_input_tokens or 0,
    )


def _merge_delta_usage(usage: Usage, delta: Any) -> None:
    """``message_delta`` usage is cumulative; fields it omits keep their ``message_start`` values."""
    usage.output_tokens = delta.output_tokens or usage.output_tokens
    if delta.input_tokens is not None:
        usage.input_tokens = delta.input_tokens
    if delta.cache_read_input_tokens is not None:
        usage.cache_read_tokens = delta.cache_read_input_tokens
    if delta.cache_creation_input_tokens is not None:
        usage.cache_write_tokens = delta.cache_creation_input_tokens
