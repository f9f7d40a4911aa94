"""OpenAIProvider and OpenAIEmbedder through the real ``openai`` SDK against the fake server over HTTP."""

from __future__ import annotations

import time

import httpx2
import pytest

from ai_core.providers.base import EmbeddingProvider, GenerationProvider, GenerationRequest, Message
from ai_core.providers.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    ProviderStreamInterrupted,
    ProviderTimeout,
)
from ai_core.providers.openai import OpenAIEmbedder, OpenAIProvider
from tests.fake_provider import FakeProviderServer
from tests.fake_provider.script import fake_vector

MODEL = "gpt-fake-1"
CHAT = "/v1/chat/completions"
EMBED = "/v1/embeddings"
SHORT_TIMEOUT = {"connect": 1.0, "read": 0.5, "write": 1.0, "pool": 1.0}


def make_provider(url: str, **kwargs) -> OpenAIProvider:
    return OpenAIProvider(alias="gpt", api_key="sk-test", base_url=f"{url}/v1", **kwargs)


def make_embedder(url: str, **kwargs) -> OpenAIEmbedder:
    return OpenAIEmbedder(alias="oa", api_key="sk-test", base_url=f"{url}/v1", **kwargs)


def make_request(question: str = "Which river flows through Cardiff?", **kwargs) -> GenerationRequest:
    defaults = {"model": MODEL, "system": "Be brief.", "max_tokens": 200}
    return GenerationRequest(messages=[Message(role="user", content=question)], **{**defaults, **kwargs})


def test_classes_satisfy_the_protocols(fake_provider_url: str) -> None:
    assert isinstance(make_provider(fake_provider_url), GenerationProvider)
    embedder = make_embedder(fake_provider_url)
    assert isinstance(embedder, EmbeddingProvider)
    assert (embedder.model, embedder.dimensions, embedder.max_input_tokens) == (
        "text-embedding-3-small",
        1536,
        8191,
    )
    assert embedder.embedder_id == "oa:text-embedding-3-small:1536"


def test_generate_returns_text_and_usage(fake_provider: FakeProviderServer) -> None:
    result = make_provider(fake_provider.base_url).generate(make_request())

    assert "Which river flows through Cardiff?" in result.text
    assert (result.provider, result.model, result.stop_reason) == ("gpt", MODEL, "stop")
    assert result.usage.input_tokens == 2 + 5
    assert result.usage.output_tokens == len(result.text.split())
    [sent] = fake_provider.requests
    assert sent["headers"]["authorization"] == "Bearer sk-test"
    assert sent["body"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["body"]["max_completion_tokens"] == 200
    assert sent["body"]["temperature"] == 0.0


def test_cached_prompt_tokens_are_not_counted_twice(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=CHAT, usage={"prompt_tokens": 100, "cached_tokens": 60})

    usage = make_provider(fake_provider.base_url).generate(make_request()).usage

    assert (usage.input_tokens, usage.cache_read_tokens) == (40, 60)


def test_stream_deltas_concatenate_and_usage_is_included(fake_provider: FakeProviderServer) -> None:
    events = list(make_provider(fake_provider.base_url).stream(make_request()))

    deltas = [e for e in events if e.kind == "delta"]
    done = events[-1]
    assert len(deltas) > 3 and done.kind == "done" and done.result is not None
    assert done.result.text == "".join(e.text for e in deltas)
    assert done.result.usage.output_tokens == len(deltas)
    assert done.result.usage.input_tokens == 7
    assert done.result.stop_reason == "stop"
    body = fake_provider.requests[0]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, ProviderRateLimited),
        (529, ProviderOverloaded),
        (500, ProviderServerError),
        (503, ProviderServerError),
        (400, ProviderBadRequest),
        (404, ProviderBadRequest),
        (401, ProviderAuthError),
    ],
)
def test_error_statuses_are_mapped(fake_provider: FakeProviderServer, status: int, error: type) -> None:
    fake_provider.script(path=CHAT, status=status)

    with pytest.raises(error) as info:
        make_provider(fake_provider.base_url).generate(make_request())

    assert info.value.status == status


def test_rate_limit_carries_retry_after(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=CHAT, status=429, retry_after=12)

    with pytest.raises(ProviderRateLimited) as info:
        list(make_provider(fake_provider.base_url).stream(make_request()))

    assert info.value.retry_after == 12.0


def test_hanging_server_times_out_quickly(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=CHAT, hang=30)

    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        make_provider(fake_provider.base_url, timeout=SHORT_TIMEOUT).generate(make_request())

    assert time.monotonic() - started < 3


def test_stream_cut_midway_keeps_partial_text(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=CHAT, reply="red green blue yellow", cut_stream_after=2)

    with pytest.raises(ProviderStreamInterrupted) as info:
        list(make_provider(fake_provider.base_url).stream(make_request()))

    assert info.value.partial_text == "red green "


def test_stream_stalling_midway_is_an_interruption(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=CHAT, reply="red green blue", stall_after=1, hang=30)

    with pytest.raises(ProviderStreamInterrupted) as info:
        list(make_provider(fake_provider.base_url, timeout=SHORT_TIMEOUT).stream(make_request()))

    assert info.value.partial_text == "red "


def test_error_payload_mid_stream_is_an_interruption(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=CHAT, reply="red green blue", cut_stream_after=1, stream_error="server_error")

    with pytest.raises(ProviderStreamInterrupted) as info:
        list(make_provider(fake_provider.base_url).stream(make_request()))

    assert info.value.partial_text == "red "


def test_client_gets_our_timeout_and_no_sdk_retries(fake_provider: FakeProviderServer) -> None:
    provider = make_provider(fake_provider.base_url, timeout=SHORT_TIMEOUT)
    fake_provider.script(path=CHAT, status=500)

    assert provider.client.timeout == httpx2.Timeout(connect=1.0, read=0.5, write=1.0, pool=1.0)
    assert provider.client.max_retries == 0
    with pytest.raises(ProviderServerError):
        provider.generate(make_request())
    assert len(fake_provider.requests_for(path=CHAT)) == 1


def test_configured_sdk_retries_are_honoured(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=CHAT, model=MODEL, status=500, retry_after=0.01, times=2)

    make_provider(fake_provider.base_url, max_retries=2).generate(make_request())

    assert len(fake_provider.requests_for(path=CHAT, model=MODEL)) == 3


def test_openai_compatible_server_under_another_prefix(fake_provider: FakeProviderServer) -> None:
    """Ollama/vLLM style: a dummy key, a /v1 under some prefix, and the older max_tokens field."""
    base = f"{fake_provider.base_url}/ollama/v1"
    provider = OpenAIProvider(
        alias="local", api_key="ollama", base_url=base, max_tokens_param="max_tokens", send_temperature=False
    )
    embedder = OpenAIEmbedder(
        alias="local", api_key="ollama", base_url=base, model="nomic-embed", dimensions=8
    )

    text = "".join(e.text for e in provider.stream(make_request(model="llama3")) if e.kind == "delta")
    vectors = embedder.embed(["hello"]).vectors

    assert "Cardiff" in text
    assert vectors == [pytest.approx(fake_vector("hello", model="nomic-embed", dimensions=8))]
    chat, embed = fake_provider.requests
    assert (chat["path"], embed["path"]) == ("/ollama/v1/chat/completions", "/ollama/v1/embeddings")
    assert chat["body"]["max_tokens"] == 200
    assert "max_completion_tokens" not in chat["body"] and "temperature" not in chat["body"]
    assert chat["headers"]["authorization"] == "Bearer ollama"


def test_embeddings_are_batched_in_order_with_summed_usage(fake_provider: FakeProviderServer) -> None:
    texts = ["one", "two words", "three little words", "four", "five and more words"]
    embedder = make_embedder(fake_provider.base_url, dimensions=16, batch_size=2)

    result = embedder.embed(texts)

    calls = fake_provider.requests_for(path=EMBED, model="text-embedding-3-small")
    assert [c["body"]["input"] for c in calls] == [texts[0:2], texts[2:4], texts[4:]]
    assert all(c["body"]["dimensions"] == 16 and c["body"]["encoding_format"] == "float" for c in calls)
    expected = [fake_vector(t, model="text-embedding-3-small", dimensions=16) for t in texts]
    assert result.vectors == [pytest.approx(v) for v in expected]
    assert result.usage.input_tokens == sum(len(t.split()) for t in texts)
    assert (result.provider, result.model) == ("oa", "text-embedding-3-small")


def test_default_dimensions_and_empty_input(fake_provider: FakeProviderServer) -> None:
    embedder = make_embedder(fake_provider.base_url)

    assert embedder.embed([]).vectors == []
    assert fake_provider.requests == []
    assert len(embedder.embed(["a"]).vectors[0]) == 1536


def test_wrong_vector_length_is_a_configuration_error(fake_provider: FakeProviderServer) -> None:
    embedder = make_embedder(fake_provider.base_url, dimensions=8, send_dimensions=False)

    with pytest.raises(ProviderBadRequest, match="expected 8 dimensions, got 1536"):
        embedder.embed(["a"])


def test_embedding_errors_are_mapped(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=EMBED, status=429, retry_after=3)

    with pytest.raises(ProviderRateLimited) as info:
        make_embedder(fake_provider.base_url, dimensions=8).embed(["a"])

    assert (info.value.retry_after, info.value.provider, info.value.model) == (
        3.0,
        "oa",
        "text-embedding-3-small",
    )
