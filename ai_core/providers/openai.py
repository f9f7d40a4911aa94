"""OpenAI chat completions and embeddings through the official ``openai`` SDK (3.x).

The same classes serve any OpenAI-compatible server (Ollama, vLLM, llama.cpp) through
``base_url``; such servers accept any non-empty ``api_key``. Kept free of Django.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import httpx2
import openai

from ai_core.providers._http import (
    DEFAULT_MAX_RETRIES,
    LazyClient,
    build_timeout,
    capped_timeout,
    elapsed_ms,
    error_for_status,
    stream_finished,
)
from ai_core.providers.base import EmbeddingResult, GenerationRequest, GenerationResult, StreamEvent, Usage
from ai_core.providers.errors import (
    ProviderBadRequest,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderStreamInterrupted,
    ProviderTimeout,
)


class _OpenAIClientMixin:
    """Client construction and error mapping shared by the chat and embedding providers."""

    alias: str

    def _init_client(
        self,
        *,
        api_key: str,
        base_url: str | None,
        timeout: Mapping[str, float] | float | None,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        self.base_url = base_url
        self.timeout = build_timeout(timeout)
        # 0 by default: the resilience layer retries and falls back across providers (see _http).
        self.max_retries = max_retries
        self.default_headers = dict(default_headers or {})
        self._api_key = api_key
        self._client = LazyClient(self._build_client)

    def _build_client(self) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=self._api_key,
            base_url=self.base_url,  # None: OPENAI_BASE_URL, then api.openai.com
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers or None,
        )

    @property
    def client(self) -> openai.OpenAI:
        return self._client.get()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alias={self.alias!r}, base_url={self.base_url!r})"  # never the key

    def _map_error(self, err: Exception, model: str) -> ProviderError:
        where = {"provider": self.alias, "model": model}
        if isinstance(err, openai.APIStatusError):
            message = err.message
            return error_for_status(err.status_code, message, headers=err.response.headers, **where)
        if isinstance(err, openai.APITimeoutError | httpx2.TimeoutException):
            return ProviderTimeout(str(err), **where)
        if isinstance(err, openai.APIConnectionError | httpx2.TransportError):
            return ProviderConnectionError(str(err), **where)
        if isinstance(err, openai.APIResponseValidationError):
            return ProviderServerError(f"unexpected response shape: {err}", status=err.status_code, **where)
        if isinstance(err, openai.APIError):  # an ``{"error": ...}`` payload inside a 200 stream
            return ProviderServerError(err.message, **where)
        return ProviderError(str(err), **where)


class OpenAIProvider(_OpenAIClientMixin):
    """A ``GenerationProvider`` over ``/chat/completions``.

    ``max_tokens_param``: OpenAI's own models want ``max_completion_tokens``; some compatible
    servers only know the older ``max_tokens``. ``send_temperature=False`` suits reasoning models,
    which reject any temperature but the default.
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
        max_tokens_param: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens",
        send_temperature: bool = True,
    ) -> None:
        self.alias = alias
        self.max_tokens_param = max_tokens_param
        self.send_temperature = send_temperature
        self._init_client(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )

    def _params(self, request: GenerationRequest) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.extend({"role": m.role, "content": m.content} for m in request.messages)
        params: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            self.max_tokens_param: request.max_tokens,
        }
        if self.send_temperature:
            params["temperature"] = request.temperature
        if request.timeout_s is not None:
            params["timeout"] = capped_timeout(self.timeout, request.timeout_s)
        return params

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """One non-streaming chat completion."""
        started = time.monotonic()
        try:
            completion = self.client.chat.completions.create(**self._params(request))
        except openai.OpenAIError as err:
            raise self._map_error(err, request.model) from err
        choice = completion.choices[0] if completion.choices else None
        return GenerationResult(
            text=(choice.message.content or "") if choice else "",
            provider=self.alias,
            model=completion.model or request.model,
            usage=_chat_usage(completion.usage),
            stop_reason=choice.finish_reason if choice else None,
            latency_ms=elapsed_ms(started),
        )

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        """Yield text deltas, then one ``done`` event with usage (requested via ``include_usage``).

        As for Anthropic: after text has reached the caller, failures are
        ``ProviderStreamInterrupted`` with that text; before, they are classified as for ``generate``.
        A stream that ends without a ``finish_reason`` counts as interrupted.
        """
        started = time.monotonic()
        params = {**self._params(request), "stream": True, "stream_options": {"include_usage": True}}
        try:
            chunks = self.client.chat.completions.create(**params)
        except openai.OpenAIError as err:
            raise self._map_error(err, request.model) from err

        parts: list[str] = []
        usage = Usage()
        model = request.model
        finish_reason: str | None = None
        try:
            with chunks:
                for chunk in chunks:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage = _chat_usage(chunk.usage)
                    for choice in chunk.choices[:1]:
                        if choice.delta.content:
                            parts.append(choice.delta.content)
                            yield StreamEvent(kind="delta", text=choice.delta.content)
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
        except (openai.OpenAIError, httpx2.HTTPError) as err:
            mapped = self._map_error(err, model)
            if parts or isinstance(mapped, ProviderConnectionError):
                raise ProviderStreamInterrupted(
                    f"stream interrupted: {mapped}",
                    partial_text="".join(parts),
                    provider=self.alias,
                    model=model,
                    status=mapped.status,
                ) from err
            raise mapped from err
        yield stream_finished(
            provider=self.alias, model=model, parts=parts, usage=usage, stop_reason=finish_reason,
            completed=finish_reason is not None, started=started, missing="a finish_reason",
        )  # fmt: skip


class OpenAIEmbedder(_OpenAIClientMixin):
    """An ``EmbeddingProvider`` over ``/embeddings``, batching long input lists.

    Vectors are requested as floats rather than the SDK's default base64 because several
    compatible servers do not implement base64. ``send_dimensions=False`` is for models (and
    servers) that reject the ``dimensions`` parameter; the length is still checked.
    """

    def __init__(
        self,
        *,
        alias: str,
        api_key: str,
        base_url: str | None = None,
        model: str = "text-embedding-3-small",
        dimensions: int = 1536,
        max_input_tokens: int = 8191,
        batch_size: int = 128,
        timeout: Mapping[str, float] | float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        send_dimensions: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.alias = alias
        self.model = model
        self.dimensions = dimensions
        self.max_input_tokens = max_input_tokens
        self.batch_size = batch_size
        self.send_dimensions = send_dimensions
        self._init_client(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )

    @property
    def embedder_id(self) -> str:
        """Names the vector space: vectors from different ids must never be compared."""
        return f"{self.alias}:{self.model}:{self.dimensions}"

    def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        """Embed ``texts`` in batches of ``batch_size``; vectors come back in input order."""
        started = time.monotonic()
        vectors: list[list[float]] = []
        usage = Usage()
        extra: dict[str, Any] = {"dimensions": self.dimensions} if self.send_dimensions else {}
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            try:
                response = self.client.embeddings.create(
                    model=self.model, input=batch, encoding_format="float", **extra
                )
            except openai.OpenAIError as err:
                raise self._map_error(err, self.model) from err
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(batch):
                raise ProviderServerError(
                    f"asked for {len(batch)} embeddings, got {len(data)}",
                    provider=self.alias,
                    model=self.model,
                )
            for item in data:
                if len(item.embedding) != self.dimensions:
                    # Storing a vector of the wrong length would corrupt the index; it is a
                    # configuration error (model or dimensions), so retrying cannot help.
                    raise ProviderBadRequest(
                        f"expected {self.dimensions} dimensions, got {len(item.embedding)}",
                        provider=self.alias,
                        model=self.model,
                    )
                vectors.append(list(item.embedding))
            if response.usage is not None:
                usage.input_tokens += response.usage.prompt_tokens or 0
        return EmbeddingResult(
            vectors=vectors,
            provider=self.alias,
            model=self.model,
            usage=usage,
            latency_ms=elapsed_ms(started),
        )


def _chat_usage(usage: Any) -> Usage:
    """Split OpenAI's inclusive ``prompt_tokens`` so ``Usage.total_tokens`` does not count cache twice."""
    if usage is None:
        return Usage()
    details = usage.prompt_tokens_details
    cached = (details.cached_tokens or 0) if details is not None else 0
    written = (getattr(details, "cache_write_tokens", None) or 0) if details is not None else 0
    return Usage(
        input_tokens=max((usage.prompt_tokens or 0) - cached - written, 0),
        output_tokens=usage.completion_tokens or 0,
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )
