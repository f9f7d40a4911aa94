"""Offline providers: MiniLM embeddings and an extractive answerer, no network and no API keys.

Local mode lets the site run (and CI test grounded answers) with nothing but installed packages.
Heavy imports (tokenizers, safetensors) and the model weights load on first use, not here.
"""

from ai_core.providers.local.extractive import LocalExtractiveProvider
from ai_core.providers.local.minilm import LocalMiniLMEmbedder, ModelIntegrityError

__all__ = ["LocalExtractiveProvider", "LocalMiniLMEmbedder", "ModelIntegrityError"]
