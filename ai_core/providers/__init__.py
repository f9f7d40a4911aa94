"""Provider registry, Django's cache-backend way: aliases in settings, one lazily built instance each.

``generation_provider("anthropic")`` and ``embedder("local")`` return the configured instance;
``AI_CORE["GENERATION_PROVIDERS"][alias] = {"CLASS": dotted.path, "OPTIONS": {...}}``.
Other apps import ``ProviderError`` and ``Usage`` from here, not from the submodules.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from django.utils.module_loading import import_string

from ai_core import conf
from ai_core.guard import assert_not_in_http_request

from .base import EmbeddingProvider, GenerationProvider
from .base import Usage as Usage
from .errors import ProviderError as ProviderError


class InvalidProviderError(conf.InvalidAICoreSettingError):
    pass


logger = logging.getLogger(__name__)
_instances: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()
# The last few questions' vectors, per embedder: one answer task asks for the same question's vector
# up to three times (approved-answer lookup, retrieval, the locale fallback's second retrieval).
_QUERY_VECTORS_KEPT = 8
_query_vectors: OrderedDict[tuple[str, str], tuple[float, ...]] = OrderedDict()


def _build(kind: str, alias: str, configs: dict[str, dict]) -> Any:
    if alias not in configs:
        raise InvalidProviderError(
            f"AI_CORE[{kind!r}] has no alias {alias!r}; configured: {', '.join(sorted(configs)) or 'none'}."
        )
    config = configs[alias]
    try:
        cls = import_string(config["CLASS"])
    except (KeyError, ImportError) as err:
        raise InvalidProviderError(
            f"AI_CORE[{kind!r}][{alias!r}]['CLASS'] cannot be imported: {err}"
        ) from err
    try:
        return cls(alias=alias, **config.get("OPTIONS", {}))
    except TypeError as err:
        raise InvalidProviderError(f"AI_CORE[{kind!r}][{alias!r}]['OPTIONS'] are invalid: {err}") from err


def _get(kind: str, alias: str, configs: dict[str, dict]) -> Any:
    key = (kind, alias)
    instance = _instances.get(key)
    if instance is None:
        with _lock:
            instance = _instances.get(key)
            if instance is None:
                instance = _instances[key] = _build(kind, alias, configs)
    return instance


def generation_provider(alias: str | None = None) -> GenerationProvider:
    assert_not_in_http_request()
    return _get("GENERATION_PROVIDERS", alias or conf.default_generation_alias(), conf.provider_configs())


def embedder(alias: str | None = None) -> EmbeddingProvider:
    assert_not_in_http_request()
    return _get("EMBEDDERS", alias or conf.default_embedder_alias(), conf.embedder_configs())


def query_vector(text: str, *, embedder: EmbeddingProvider) -> list[float]:
    """``text``'s vector from ``embedder``, embedded once for the few questions asked last.

    A question is embedded by one provider call whichever steps of an answer need its vector; with
    a paid embedder that is one call (and its latency) instead of two or three. Kept in this
    process's memory only, for the last few questions, keyed by embedder id so a switch of
    embedder never returns the old model's vector. A failed call is not remembered.
    """
    key = (embedder.embedder_id, text)
    with _lock:
        vector = _query_vectors.get(key)
        if vector is not None:
            _query_vectors.move_to_end(key)
            return list(vector)
    vector = tuple(embedder.embed([text]).vectors[0])
    with _lock:
        _query_vectors[key] = vector
        _query_vectors.move_to_end(key)
        while len(_query_vectors) > _QUERY_VECTORS_KEPT:
            _query_vectors.popitem(last=False)
    return list(vector)


def reset_providers() -> None:
    """Forget built instances and remembered vectors (tests that change AI_CORE; settings_changed)."""
    with _lock:
        _instances.clear()
        _query_vectors.clear()


def warm_up(*, embedder_weights: bool = True) -> list[str]:
    """Build every configured provider and its SDK client, and load the default embedder's weights,
    now (worker start), not on the first task: importing an SDK, building its client and reading
    and verifying MiniLM's weights take seconds that would otherwise count against the first
    request's deadline (an answer embeds its question before any provider is called).

    ``embedder_weights=False``: a process that runs no embedding work leaves them unloaded (the
    numpy MiniLM adds about 117 MB of RSS per pool process, docs/BENCHMARKS.md); a task that does
    embed still loads them when it needs them."""
    warmed = []
    for alias in conf.provider_configs():
        provider = generation_provider(alias)
        getattr(provider, "client", None)
        warmed.append(alias)
    if not embedder_weights:
        return warmed
    default = embedder()
    if callable(load := getattr(default, "load", None)):  # a local model; a remote one has nothing to load
        try:
            load()
        except Exception:  # noqa: BLE001 - a process that cannot start runs nothing, not even maintenance
            logger.exception(
                "embedder %r not loaded at start; tasks that embed will fail until it loads", default.alias
            )
        else:
            warmed.append(f"embedder:{default.alias}")
    return warmed
