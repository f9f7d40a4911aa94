"""Offline providers: MiniLM embeddings and an extractive answerer, no network and no API keys.

Local mode lets the site run (and CI test grounded answers) with nothing but installed packages.
Two embedders compute all-MiniLM-L6-v2: ``LocalMiniLMEmbedder`` (float32, numpy) and
``OnnxMiniLMEmbedder`` (int8, onnxruntime, faster). Heavy imports (tokenizers, safetensors,
onnxruntime) and the model files load on first use, not here.
"""

from ai_core.providers.local.encoder import ModelIntegrityError
from ai_core.providers.local.extractive import LocalExtractiveProvider
from ai_core.providers.local.minilm import LocalMiniLMEmbedder
from ai_core.providers.local.onnx_minilm import OnnxMiniLMEmbedder

__all__ = ["LocalExtractiveProvider", "LocalMiniLMEmbedder", "ModelIntegrityError", "OnnxMiniLMEmbedder"]
