"""The numpy MiniLM must give sentence-transformers' vectors, offline, from a verified file."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from ai_core.providers.base import EmbeddingProvider, EmbeddingResult
from ai_core.providers.local import encoder, minilm
from ai_core.providers.local.minilm import (
    MODEL_SHA256,
    LocalMiniLMEmbedder,
    ModelIntegrityError,
    default_model_dir,
)

from .local_embedders import CASE_IDS, CASES, REFERENCE, assert_integrity_message, flip_byte, forbid_network
from .local_embedders import cosine as _cosine


@pytest.fixture(scope="module")
def embedder() -> LocalMiniLMEmbedder:
    return LocalMiniLMEmbedder()


def test_embedder_satisfies_the_provider_protocol() -> None:
    embedder = LocalMiniLMEmbedder(alias="offline")
    assert isinstance(embedder, EmbeddingProvider)
    assert embedder.embedder_id == "offline:all-MiniLM-L6-v2:384"
    assert (embedder.model, embedder.dimensions, embedder.max_input_tokens) == ("all-MiniLM-L6-v2", 384, 256)
    assert LocalMiniLMEmbedder().embedder_id == "local:all-MiniLM-L6-v2:384"


def test_fixture_was_made_from_the_pinned_model_file() -> None:
    assert REFERENCE["model_sha256"] == MODEL_SHA256
    assert REFERENCE["max_seq_length"] == 256
    assert any(case["tokens"] == 256 for case in CASES), "fixture must exercise truncation"


@pytest.fixture(scope="module")
def batched(embedder: LocalMiniLMEmbedder) -> EmbeddingResult:
    """All reference sentences in one call: one padded batch mixing 2 and 256 word pieces."""
    return embedder.embed([case["text"] for case in CASES])


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_vectors_match_sentence_transformers(batched: EmbeddingResult, index: int) -> None:
    assert _cosine(batched.vectors[index], CASES[index]["vector"]) >= 0.9999


def test_batch_result_reports_usage_and_keeps_input_order(batched: EmbeddingResult) -> None:
    assert (batched.provider, batched.model) == ("local", "all-MiniLM-L6-v2")
    assert batched.usage.input_tokens == sum(case["tokens"] for case in CASES)
    assert len(batched.vectors) == len(CASES) and all(len(v) == 384 for v in batched.vectors)
    assert np.allclose(np.linalg.norm(batched.vectors, axis=1), 1.0, atol=1e-5)


def test_padding_does_not_change_vectors(embedder: LocalMiniLMEmbedder, batched: EmbeddingResult) -> None:
    one_by_one = LocalMiniLMEmbedder(batch_size=1)
    one_by_one._runtime, one_by_one._tokenizer = embedder._load()  # share the loaded weights
    unpadded, tokens = one_by_one.encode([case["text"] for case in CASES])
    assert np.allclose(unpadded, batched.vectors, atol=1e-5)
    assert tokens == batched.usage.input_tokens


def test_batches_are_length_sorted_and_capped_in_padded_size() -> None:
    lengths = [256] * 40 + [5, 3]
    batches = LocalMiniLMEmbedder(batch_size=32)._batches(lengths)
    assert batches[0][:2] == [41, 40]  # shortest first
    assert all(len(b) * max(lengths[i] for i in b) <= encoder.MAX_BATCH_TOKENS for b in batches)
    assert sorted(i for batch in batches for i in batch) == list(range(42))


def test_text_past_256_word_pieces_is_truncated(embedder: LocalMiniLMEmbedder) -> None:
    long_text = max((case["text"] for case in CASES), key=len)
    result = embedder.embed([long_text + " Completely unrelated trailing words."])
    assert result.usage.input_tokens == 256
    assert _cosine(result.vectors[0], CASES[-1]["vector"]) >= 0.9999


def test_empty_input_returns_no_vectors(embedder: LocalMiniLMEmbedder) -> None:
    result = embedder.embed([])
    assert result.vectors == [] and result.usage.input_tokens == 0


def test_a_bare_string_is_rejected(embedder: LocalMiniLMEmbedder) -> None:
    with pytest.raises(TypeError):
        embedder.embed("not a list")


def test_model_is_not_loaded_until_first_embed() -> None:
    embedder = LocalMiniLMEmbedder(model_dir="/nonexistent/minilm")
    assert not embedder.is_loaded
    assert embedder.embedder_id == "local:all-MiniLM-L6-v2:384"  # metadata needs no weights
    with pytest.raises(ModelIntegrityError, match="/nonexistent/minilm"):
        embedder.embed(["first call loads"])


def test_loads_once_under_concurrent_first_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_load = minilm._load_weights

    def counting_load(*args, **kwargs):
        calls.append(1)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(minilm, "_load_weights", counting_load)
    monkeypatch.setattr(encoder, "_LOADED", {})  # forget what earlier tests loaded
    embedder = LocalMiniLMEmbedder()
    results: list[list[list[float]]] = []
    threads = [
        threading.Thread(target=lambda: results.append(embedder.embed(["hi"]).vectors)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 4 and embedder.is_loaded


def test_loaded_weights_are_shared_between_instances(embedder: LocalMiniLMEmbedder) -> None:
    other = LocalMiniLMEmbedder(alias="other")
    other.embed(["x"])
    assert other._load()[0] is embedder._load()[0]


def test_loading_and_embedding_never_touch_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder, "_LOADED", {})
    forbid_network(monkeypatch)
    assert len(LocalMiniLMEmbedder().embed(["offline only"]).vectors[0]) == 384


def test_tampered_model_file_is_refused(tmp_path: Path) -> None:
    model_dir = tmp_path / "minilm"
    shutil.copytree(default_model_dir(), model_dir)
    weights = model_dir / "model.safetensors"
    flip_byte(weights, 1_000_000)

    embedder = LocalMiniLMEmbedder(model_dir=model_dir)
    with pytest.raises(ModelIntegrityError) as excinfo:
        embedder.embed(["anything"])
    assert_integrity_message(str(excinfo.value), path=weights, expected_sha256=MODEL_SHA256)
    assert not embedder.is_loaded


def test_unexpected_pinned_hash_is_refused() -> None:
    with pytest.raises(ModelIntegrityError, match="expected sha256 0{64}"):
        LocalMiniLMEmbedder(expected_sha256="0" * 64).embed(["x"])


def test_gelu_is_the_exact_erf_gelu_on_both_signs_and_in_the_tails() -> None:
    """x * Phi(x) in float64 as the reference; 200 rows so the last 64-row block is a partial one."""
    import math

    grid = np.concatenate([np.linspace(-12, 12, 1001), [0.0, -0.0, 1e-8, -1e-8, 40.0, -40.0]])
    rng = np.random.default_rng(7)
    x = np.resize(np.concatenate([grid, rng.standard_normal(200 * 1536 - grid.size) * 3]), (200, 1536))
    x = x.astype(np.float32)
    expected = np.vectorize(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))))(x.astype(np.float64))
    got = minilm._gelu(x.copy())
    assert got.dtype == np.float32 and got.shape == x.shape
    # float32 carries ~7 digits: allow a few ulps of max(|x|, 1)
    assert np.all(np.abs(got - expected) <= 4e-7 * np.maximum(np.abs(x), 1.0))


def test_batches_run_on_several_threads_and_give_the_sequential_vectors(
    embedder: LocalMiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [case["text"] for case in CASES] * 3
    sequential = LocalMiniLMEmbedder(threads=1, max_batch_tokens=256)
    threaded = LocalMiniLMEmbedder(threads=2, max_batch_tokens=256)
    expected, tokens = sequential.encode(texts)

    started = threading.Barrier(2, timeout=30)
    seen: set[str] = set()
    forward = minilm._forward

    def recording(weights, ids, mask):
        name = threading.current_thread().name
        if name not in seen:
            seen.add(name)
            started.wait()  # each thread's first batch: passes only once two run at the same time
        return forward(weights, ids, mask)

    monkeypatch.setattr(minilm, "_forward", recording)
    got, got_tokens = threaded.encode(texts)
    assert len(threaded._batches([len(e.ids) for e in threaded._load()[1].encode_batch(texts)])) > 2
    assert len(seen) == 2 and all(name.startswith("minilm") for name in seen)
    assert np.array_equal(got, expected) and got_tokens == tokens


def test_a_failing_batch_fails_the_whole_call(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0

    def failing(weights, ids, mask):
        nonlocal calls
        calls += 1
        raise MemoryError("no room for this batch")

    monkeypatch.setattr(minilm, "_forward", failing)
    with pytest.raises(MemoryError, match="no room"):
        LocalMiniLMEmbedder(threads=2, max_batch_tokens=256).encode([case["text"] for case in CASES])
    assert calls >= 1


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_a_bad_thread_count_is_refused(threads) -> None:
    with pytest.raises(TypeError, match="threads must be a positive integer"):
        LocalMiniLMEmbedder(threads=threads)


def test_threads_default_to_the_cpus_this_process_may_use() -> None:
    assert LocalMiniLMEmbedder().threads == len(os.sched_getaffinity(0))


@pytest.fixture
def new_pool_process(settings):
    """Providers as a new pool process has them: none built yet (and none left to the next test),
    the local MiniLM as the default embedder."""
    from ai_core import providers

    settings.AI_CORE = {**settings.AI_CORE, "DEFAULT_EMBEDDER": "local"}
    providers.reset_providers()
    yield
    providers.reset_providers()


def test_a_starting_worker_process_loads_the_default_embedder_before_its_first_task(new_pool_process) -> None:
    """An answer embeds its question before any provider is called, inside the task's deadline:
    weights read and verified on the first task made a cold worker's first answer time out."""
    from ai_core import providers
    from site_config.celery_app import _warm_up_providers

    assert not providers.embedder().is_loaded
    _warm_up_providers()  # the worker_process_init receiver
    assert providers.embedder().is_loaded


@pytest.mark.parametrize(
    ("workloads", "loaded"),
    [
        (["maintenance", "removals"], False),
        (["maintenance"], False),
        (["removals", "visitor"], True),
        ([], True),
    ],
)
def test_a_worker_that_never_embeds_does_not_load_the_embedder(
    new_pool_process, settings, workloads, loaded
) -> None:
    """A maintenance or removals worker runs beat jobs and deletions: the weights would mostly just
    hold memory in each of its pool processes. A worker with any embedding workload (or all of them, the
    default) loads them at start."""
    from ai_core import providers
    from site_config.celery_app import _warm_up_providers

    settings.LECTERN_WORKER_WORKLOADS = workloads
    assert not providers.embedder().is_loaded
    _warm_up_providers()
    assert providers.embedder().is_loaded is loaded
