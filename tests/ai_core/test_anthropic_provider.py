"""AnthropicProvider through the real ``anthropic`` SDK against the fake server over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

from ai_core.providers.anthropic import AnthropicProvider
from ai_core.providers.base import GenerationProvider, GenerationRequest, Message
from ai_core.providers.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConnectionError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    ProviderStreamInterrupted,
    ProviderTimeout,
)
from tests.fake_provider import FakeProviderServer, RemoteFakeProvider

MODEL = "claude-fake-1"
PATH = "/v1/messages"
SHORT_TIMEOUT = {"connect": 1.0, "read": 0.5, "write": 1.0, "pool": 1.0}


def make_provider(url: str, **kwargs) -> AnthropicProvider:
    return AnthropicProvider(alias="claude", api_key="sk-ant-test", base_url=url, **kwargs)


def make_request(question: str = "What is the tallest mountain in Wales?", **kwargs) -> GenerationRequest:
    defaults = {"model": MODEL, "system": "You answer from the sources.", "max_tokens": 200}
    return GenerationRequest(messages=[Message(role="user", content=question)], **{**defaults, **kwargs})


def test_provider_satisfies_the_protocol(fake_provider_url: str) -> None:
    provider = make_provider(fake_provider_url)
    assert isinstance(provider, GenerationProvider)
    assert provider.label == ""


def test_generate_returns_text_usage_and_latency(fake_provider: FakeProviderServer) -> None:
    result = make_provider(fake_provider.base_url).generate(make_request())

    assert "What is the tallest mountain" in result.text
    assert result.provider == "claude"
    assert result.model == MODEL
    assert result.stop_reason == "end_turn"
    assert result.usage.input_tokens == 5 + 7  # system words + question words
    assert result.usage.output_tokens == len(result.text.split())
    assert result.latency_ms >= 0
    [sent] = fake_provider.requests
    assert sent["headers"]["authorization"] == "Bearer sk-ant-test"
    assert sent["headers"]["anthropic-version"]
    assert sent["body"]["system"] == [{"type": "text", "text": "You answer from the sources."}]
    assert "temperature" not in sent["body"]  # API 2026-10-21 rejects sampling parameters


def test_default_headers_and_user_metadata_are_sent(fake_provider: FakeProviderServer) -> None:
    provider = make_provider(fake_provider.base_url, default_headers={"x-lectern": "1"})
    provider.generate(make_request(metadata={"user_id": "u-42", "trace": "ignored"}))

    [sent] = fake_provider.requests
    assert sent["headers"]["x-lectern"] == "1"
    assert sent["body"]["metadata"] == {"user_id": "u-42"}


def test_stream_deltas_concatenate_to_final_text(fake_provider: FakeProviderServer) -> None:
    events = list(make_provider(fake_provider.base_url).stream(make_request()))

    deltas = [e for e in events if e.kind == "delta"]
    done = events[-1]
    assert len(deltas) > 3
    assert [e.kind for e in events].count("done") == 1
    assert done.kind == "done" and done.result is not None
    assert done.result.text == done.text == "".join(e.text for e in deltas)
    assert done.result.usage.input_tokens == 12
    assert done.result.usage.output_tokens == len(deltas)
    assert done.result.stop_reason == "end_turn"
    assert fake_provider.requests[0]["body"]["stream"] is True


def test_cache_flags_write_then_read_the_prompt_cache(fake_provider: FakeProviderServer) -> None:
    provider = make_provider(fake_provider.base_url)
    system = "Answer only from the numbered sources. " * 20
    context = "[1] Snowdon is 1085 metres high. " * 30

    def ask(question: str) -> GenerationRequest:
        return GenerationRequest(
            model=MODEL,
            system=system,
            messages=[Message(role="user", content=context), Message(role="user", content=question)],
            max_tokens=100,
            cache_system=True,
            cache_context=True,
        )

    first = provider.generate(ask("How high is Snowdon?"))
    second = provider.generate(ask("Where is Snowdon?"))

    prefix_words = len(system.split()) + len(context.split())
    assert (first.usage.cache_write_tokens, first.usage.cache_read_tokens) == (prefix_words, 0)
    assert (second.usage.cache_write_tokens, second.usage.cache_read_tokens) == (0, prefix_words)
    assert second.usage.input_tokens == 3  # only the uncached question
    body = fake_provider.requests[0]["body"]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["messages"][1]["content"][0]


def test_stream_reports_cache_reads(fake_provider: FakeProviderServer) -> None:
    provider = make_provider(fake_provider.base_url)
    request = make_request(cache_system=True)
    provider.generate(request)

    done = list(provider.stream(request))[-1]

    assert done.result is not None
    assert done.result.usage.cache_read_tokens == 5


def test_without_cache_flags_no_cache_control_is_sent(fake_provider: FakeProviderServer) -> None:
    make_provider(fake_provider.base_url).generate(make_request())

    body = fake_provider.requests[0]["body"]
    assert "cache_control" not in body["system"][0]
    assert "cache_control" not in body["messages"][0]["content"][0]


def test_rate_limit_maps_to_rate_limited_with_retry_after(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, status=429, retry_after=7)

    with pytest.raises(ProviderRateLimited) as info:
        make_provider(fake_provider.base_url).generate(make_request())

    assert info.value.retry_after == 7.0
    assert info.value.status == 429
    assert info.value.retryable
    assert (info.value.provider, info.value.model) == ("claude", MODEL)


def test_overloaded_529_maps_to_overloaded(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, status=529)

    with pytest.raises(ProviderOverloaded):
        make_provider(fake_provider.base_url).generate(make_request())


def test_server_error_maps_to_server_error(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, status=500)

    with pytest.raises(ProviderServerError) as info:
        make_provider(fake_provider.base_url).generate(make_request())

    assert info.value.status == 500


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ProviderBadRequest),
        (404, ProviderBadRequest),
        (422, ProviderBadRequest),
        (401, ProviderAuthError),
        (403, ProviderAuthError),
    ],
)
def test_client_errors_are_not_retryable(fake_provider: FakeProviderServer, status: int, error: type) -> None:
    fake_provider.script(path=PATH, status=status)

    with pytest.raises(error) as info:
        make_provider(fake_provider.base_url).generate(make_request())

    assert not info.value.retryable


def test_errors_before_the_stream_starts_are_classified(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, status=429, retry_after=2)

    with pytest.raises(ProviderRateLimited) as info:
        list(make_provider(fake_provider.base_url).stream(make_request()))

    assert info.value.retry_after == 2.0


def test_hanging_server_times_out_quickly(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, hang=30)
    provider = make_provider(fake_provider.base_url, timeout=SHORT_TIMEOUT)

    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        provider.generate(make_request())

    assert time.monotonic() - started < 3


def test_stream_cut_midway_keeps_partial_text(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, reply="one two three four five six", cut_stream_after=3)
    received: list[str] = []

    with pytest.raises(ProviderStreamInterrupted) as info:
        for event in make_provider(fake_provider.base_url).stream(make_request()):
            received.append(event.text)

    assert info.value.partial_text == "one two three " == "".join(received)
    assert info.value.retryable


def test_stream_stalling_midway_is_an_interruption(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, reply="one two three four", stall_after=2, hang=30)
    provider = make_provider(fake_provider.base_url, timeout=SHORT_TIMEOUT)

    started = time.monotonic()
    with pytest.raises(ProviderStreamInterrupted) as info:
        list(provider.stream(make_request()))

    assert info.value.partial_text == "one two "
    assert time.monotonic() - started < 3


def test_stream_stalling_before_any_text_is_a_timeout(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, stall_after=0, hang=30)

    with pytest.raises(ProviderTimeout):
        list(make_provider(fake_provider.base_url, timeout=SHORT_TIMEOUT).stream(make_request()))


def test_error_event_mid_stream_is_an_interruption(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(
        path=PATH, reply="alpha beta gamma", cut_stream_after=2, stream_error="overloaded_error"
    )

    with pytest.raises(ProviderStreamInterrupted) as info:
        list(make_provider(fake_provider.base_url).stream(make_request()))

    assert info.value.partial_text == "alpha beta "


def test_error_event_before_any_text_keeps_its_type(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, cut_stream_after=0, stream_error="overloaded_error")

    with pytest.raises(ProviderOverloaded):
        list(make_provider(fake_provider.base_url).stream(make_request()))


def test_refused_connection_maps_to_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens there

    with pytest.raises(ProviderConnectionError):
        make_provider(f"http://127.0.0.1:{port}", timeout=SHORT_TIMEOUT).generate(make_request())


def test_client_gets_our_timeout_and_no_sdk_retries(fake_provider: FakeProviderServer) -> None:
    provider = make_provider(fake_provider.base_url, timeout=SHORT_TIMEOUT)
    fake_provider.script(path=PATH, status=500)

    assert provider.client.timeout == httpx2.Timeout(connect=1.0, read=0.5, write=1.0, pool=1.0)
    assert provider.client.max_retries == 0
    with pytest.raises(ProviderServerError):
        provider.generate(make_request())
    assert len(fake_provider.requests_for(path=PATH, model=MODEL)) == 1


def test_configured_sdk_retries_are_honoured(fake_provider: FakeProviderServer) -> None:
    fake_provider.script(path=PATH, model=MODEL, status=500, retry_after=0.01, times=2)

    result = make_provider(fake_provider.base_url, max_retries=2).generate(make_request())

    assert result.text
    assert len(fake_provider.requests_for(path=PATH, model=MODEL)) == 3


def test_client_is_built_once_and_lazily(fake_provider_url: str) -> None:
    provider = make_provider(fake_provider_url)
    assert not provider._client.built
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(provider.client)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(client) for client in seen}) == 1
    assert "sk-ant-test" not in repr(provider)


def test_fake_server_as_a_process_is_scripted_over_http() -> None:
    """How Celery-worker and browser tests use it: a separate process, scripted via /_control."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_provider.server", "--port", "0"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip().removeprefix("FAKE_PROVIDER_URL=")
        remote = RemoteFakeProvider(url)
        remote.wait_until_up()
        remote.script(path=PATH, status=529)

        with pytest.raises(ProviderOverloaded):
            make_provider(url).generate(make_request())
        assert make_provider(url).generate(make_request()).text
        assert [r["model"] for r in remote.requests] == [MODEL, MODEL]
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert proc.returncode == 0
