"""Provider interfaces shared by every model backend.

Kept free of Django and Wagtail so the engine can be exercised (and benchmarked) on its own;
the registry in ``ai_core.providers`` is the only place that reads settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable


@dataclass(kw_only=True, frozen=True)
class Source:
    """A piece of retrieved text handed to the model as data, numbered ``[n]`` in prompts."""

    number: int
    chunk_id: str
    text: str
    title: str = ""
    url: str = ""


@dataclass(kw_only=True, frozen=True)
class Message:
    role: Literal["user", "assistant"]
    content: str


@dataclass(kw_only=True)
class GenerationRequest:
    model: str
    system: str
    messages: Sequence[Message]
    max_tokens: int
    temperature: float = 0.0
    # Retrieved sources. Remote providers receive them already rendered into the messages;
    # the local extractive provider reads them directly because it cannot "read" a prompt.
    sources: Sequence[Source] = ()
    # What the prompt asks for, so the extractive provider knows which behaviour to imitate.
    task: Literal["answer", "summary", "classify", "generate"] = "generate"
    labels: Sequence[str] = ()
    # Mark long stable parts for provider-side prompt caching (Anthropic ``cache_control``).
    cache_system: bool = False
    cache_context: bool = False
    # Free-form metadata forwarded to the provider where supported (e.g. a request id).
    metadata: dict[str, str] = field(default_factory=dict)
    # Overall per-call timeout, tighter than the client's: the time left before the task's deadline.
    timeout_s: float | None = None


@dataclass(kw_only=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(kw_only=True)
class GenerationResult:
    text: str
    provider: str
    model: str
    usage: Usage
    stop_reason: str | None = None
    latency_ms: int = 0


@dataclass(kw_only=True)
class StreamEvent:
    """``delta`` events carry text as it arrives; exactly one final ``done`` carries the result."""

    kind: Literal["delta", "done"]
    text: str = ""
    result: GenerationResult | None = None


@dataclass(kw_only=True)
class EmbeddingResult:
    vectors: list[list[float]]
    provider: str
    model: str
    usage: Usage
    latency_ms: int = 0


@runtime_checkable
class GenerationProvider(Protocol):
    alias: str
    label: str  # shown to visitors next to output, e.g. "local mode, extractive, no language model"

    def generate(self, request: GenerationRequest) -> GenerationResult: ...

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]: ...


@runtime_checkable
class EmbeddingProvider(Protocol):
    alias: str
    model: str
    dimensions: int
    max_input_tokens: int

    @property
    def embedder_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> EmbeddingResult: ...
