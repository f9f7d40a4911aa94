"""Typed access to ``AI_CORE["RETRIEVAL"]``, the one setting for indexing and retrieval.

Read through ``ai_core.conf`` (the only reader of ``AI_CORE``); every key has a default so a
project that sets nothing still gets the tuned values documented in docs/BENCHMARKS.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from django.utils.module_loading import import_string

from ai_core import conf

from .chunking import ChunkingConfig


class InvalidRetrievalSettingError(conf.InvalidAICoreSettingError):
    pass


@dataclass(kw_only=True, frozen=True)
class RetrievalSettings:
    # Where lexical evidence comes from. "candidates": the vector search's candidates are rescored
    # by the IDF-weighted share of the question's terms each contains, score =
    # (VECTOR_WEIGHT * cosine + TEXT_WEIGHT * coverage) / (VECTOR_WEIGHT + TEXT_WEIGHT).
    # "full_text": a second, unrestricted full-text query fused by weighted RRF (RRF_K), the
    # earlier design. Tuned on four labelled sets in docs/BENCHMARKS.md.
    lexical: str = "candidates"
    vector_weight: float = 1.0
    text_weight: float = 0.2
    rrf_k: int = 120
    # IDF cut-off ("candidates"): query terms found in more than this share of chunks weigh nothing.
    max_term_frequency: float = 1.0
    # Neighbour context ("candidates"): candidates are ordered as if their cosine were
    # (1 - NEIGHBOUR_WEIGHT) x their own + NEIGHBOUR_WEIGHT x that of the closer of the chunks
    # before and after them in their page; scores (and so MIN_SCORE) stay their own. 0: off.
    neighbour_weight: float = 0.2
    # What ``retrieve`` returns by default.
    top_k: int = 6
    # Floor below which nothing is returned; 0.32 is tuned for the local MiniLM embedders with
    # LEXICAL "candidates" (another embedder needs its own sweep: ``bench/rag_sets.py``).
    min_score: float = 0.32
    # Candidates fetched from each retriever before fusion.
    candidates: int = 40
    # HNSW search breadth (pgvector's hnsw.ef_search, 1..1000); raised to CANDIDATES if below.
    ef_search: int = 200
    # The breadth when the question's site+locale scope has its own partial index (``manage.py
    # rag_scope_indexes``): that graph holds only the scope's rows, so a narrower walk finds the
    # same neighbours. Raised to CANDIDATES if below; measured in docs/BENCHMARKS.md.
    scope_ef_search: int = 60
    # pgvector >= 0.8 iterative index scans, set per query (SET LOCAL): with a site/locale filter
    # that keeps few rows, the scan walks on until CANDIDATES rows pass it, up to MAX_SCAN_TUPLES
    # visited. "relaxed_order" (the query re-sorts), "strict_order", or "off" (a filtered search
    # may then return fewer rows than exist). Measured in docs/BENCHMARKS.md.
    iterative_scan: str = "relaxed_order"
    max_scan_tuples: int = 20_000
    # PostgreSQL text search configuration for the tsvector column and queries.
    text_search_config: str = "english"
    # Texts per embedding call when indexing.
    embed_batch_size: int = 64
    # Per embedder alias: {"max_tokens": int, "overlap_tokens": int}; default: from its window.
    chunking: dict[str, dict[str, int]] | None = None
    # Largest number of chunks handed to the page summary prompt.
    summary_max_chunks: int = 40
    # A question whose own locale finds nothing is searched again in the default content locale
    # (Wagtail's: the supported variant of LANGUAGE_CODE). False: only the asker's locale.
    locale_fallback: bool = True
    # Dotted path to ``f(*, page_ids, site_id) -> set[int]``: which of these pages a visitor of
    # that site may read right now (live, public, in the site). Retrieval calls it, in one query,
    # for the pages of the chunks it is about to return and drops the rest, so a chunk whose
    # removal lost a race is never served. Empty: no check (an engine without pages).
    page_access_check: str = ""
    # Dotted path to ``f(*, source, keys, site_id) -> set[str]``: which documents of one source
    # (``KnowledgeDocument.source``; ``keys`` their ``key``s) a visitor of that site may read right
    # now. Called per source among the chunks about to be returned, like PAGE_ACCESS_CHECK; keys it
    # does not return are dropped, so a source it does not know must be returned whole. Empty: no check.
    document_access_check: str = ""

    def chunking_for(self, embedder: Any) -> ChunkingConfig:
        override = (self.chunking or {}).get(embedder.alias)
        if override:
            try:
                return ChunkingConfig(
                    max_tokens=int(override["max_tokens"]),
                    overlap_tokens=int(override.get("overlap_tokens", 0)),
                )
            except (KeyError, TypeError, ValueError) as err:
                raise InvalidRetrievalSettingError(
                    f"AI_CORE['RETRIEVAL']['CHUNKING'][{embedder.alias!r}] needs an integer 'max_tokens' "
                    f"(and optionally 'overlap_tokens'): {err}"
                ) from err
        return ChunkingConfig.for_window(embedder.max_input_tokens)


_KEYS = {f.name.upper(): f.name for f in fields(RetrievalSettings)}
LEXICAL_MODES = ("candidates", "full_text")


def default_locale() -> str:
    """The default content locale's language code, as Wagtail's ``Locale.get_default`` picks it
    (without its query: the fallback must not cost a round trip per question)."""
    from django.conf import settings
    from wagtail.coreutils import get_supported_content_language_variant

    try:
        return get_supported_content_language_variant(settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def page_access_check(values: RetrievalSettings | None = None) -> Callable[..., set[int]] | None:
    """The configured page access check, imported (cached per path), or ``None`` when unset."""
    path = (values or retrieval_settings()).page_access_check
    return _import_check(path) if path else None


def document_access_check(values: RetrievalSettings | None = None) -> Callable[..., set[str]] | None:
    """The configured document access check, imported (cached per path), or ``None`` when unset."""
    path = (values or retrieval_settings()).document_access_check
    return _import_check(path, "DOCUMENT_ACCESS_CHECK") if path else None


@lru_cache(maxsize=8)
def _import_check(path: str, key: str = "PAGE_ACCESS_CHECK") -> Callable[..., set]:
    try:
        return import_string(path)
    except ImportError as err:
        raise InvalidRetrievalSettingError(
            f"AI_CORE['RETRIEVAL'][{key!r}] = {path!r} cannot be imported: {err}"
        ) from err


DEFAULT_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024


def documents_max_bytes() -> int:
    """``AI_CORE["DOCUMENTS"]["MAX_BYTES"]``: the largest file (document library or S3) that is read
    for indexing; a larger one is recorded as "too large" and not read at all."""
    raw = conf.setting_or_none("DOCUMENTS") or {}
    if not isinstance(raw, dict):
        raise InvalidRetrievalSettingError("AI_CORE['DOCUMENTS'] must be a dict.")
    unknown = sorted(set(raw) - {"MAX_BYTES"})
    if unknown:
        raise InvalidRetrievalSettingError(
            f"AI_CORE['DOCUMENTS'] has unknown key(s) {', '.join(unknown)}; known: MAX_BYTES."
        )
    value = raw.get("MAX_BYTES", DEFAULT_DOCUMENT_MAX_BYTES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRetrievalSettingError(
            f"AI_CORE['DOCUMENTS']['MAX_BYTES'] must be a positive number of bytes, not {value!r}."
        )
    return value


def retrieval_settings(*, overrides: dict[str, Any] | None = None) -> RetrievalSettings:
    """The validated settings; ``overrides`` (upper-case keys, as in the setting) replace keys of
    ``AI_CORE["RETRIEVAL"]`` for one caller (``rag_eval --setting``, benchmarks) and are checked the
    same way, so an experiment cannot run on a value the system check would refuse."""
    raw = conf.setting_or_none("RETRIEVAL") or {}
    if not isinstance(raw, dict):
        raise InvalidRetrievalSettingError("AI_CORE['RETRIEVAL'] must be a dict.")
    raw = {**raw, **(overrides or {})}
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise InvalidRetrievalSettingError(
            f"AI_CORE['RETRIEVAL'] has unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}."
        )
    try:
        values = RetrievalSettings(**{_KEYS[key]: value for key, value in raw.items()})
    except TypeError as err:
        raise InvalidRetrievalSettingError(f"AI_CORE['RETRIEVAL'] is invalid: {err}") from err
    if values.vector_weight < 0 or values.text_weight < 0 or values.vector_weight + values.text_weight <= 0:
        raise InvalidRetrievalSettingError("AI_CORE['RETRIEVAL'] weights must be >= 0 and not both zero.")
    if not 0 <= values.min_score <= 1:
        raise InvalidRetrievalSettingError("AI_CORE['RETRIEVAL']['MIN_SCORE'] must be between 0 and 1.")
    if values.top_k < 1 or values.candidates < values.top_k:
        raise InvalidRetrievalSettingError("AI_CORE['RETRIEVAL'] needs TOP_K >= 1 and CANDIDATES >= TOP_K.")
    _check_vector_search(values)
    if values.lexical not in LEXICAL_MODES:
        raise InvalidRetrievalSettingError(
            f"AI_CORE['RETRIEVAL']['LEXICAL'] must be one of {', '.join(LEXICAL_MODES)}, not {values.lexical!r}."
        )
    share = values.max_term_frequency
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise InvalidRetrievalSettingError(
            f"AI_CORE['RETRIEVAL']['MAX_TERM_FREQUENCY'] must be a share of chunks in (0, 1], not {share!r}."
        )
    blend = values.neighbour_weight
    if isinstance(blend, bool) or not isinstance(blend, int | float) or not 0 <= blend <= 1:
        raise InvalidRetrievalSettingError(
            f"AI_CORE['RETRIEVAL']['NEIGHBOUR_WEIGHT'] must be a number from 0 (off) to 1, not {blend!r}."
        )
    if not isinstance(values.locale_fallback, bool):
        raise InvalidRetrievalSettingError("AI_CORE['RETRIEVAL']['LOCALE_FALLBACK'] must be True or False.")
    for key in ("page_access_check", "document_access_check"):
        if not isinstance(getattr(values, key), str):
            raise InvalidRetrievalSettingError(
                f"AI_CORE['RETRIEVAL'][{key.upper()!r}] must be a dotted path (a string), or empty."
            )
    return values


ITERATIVE_SCAN_MODES = ("relaxed_order", "strict_order", "off")


def _check_vector_search(values: RetrievalSettings) -> None:
    """pgvector rejects these values only when a query sets them; checked here so a typo fails
    ``manage.py check`` instead of every question."""
    for key in ("ef_search", "scope_ef_search"):
        ef_search = getattr(values, key)
        if isinstance(ef_search, bool) or not isinstance(ef_search, int) or not 1 <= ef_search <= 1000:
            raise InvalidRetrievalSettingError(
                f"AI_CORE['RETRIEVAL'][{key.upper()!r}] must be an integer from 1 to 1000 (pgvector's range), "
                f"not {ef_search!r}."
            )
    if values.iterative_scan not in ITERATIVE_SCAN_MODES:
        raise InvalidRetrievalSettingError(
            f"AI_CORE['RETRIEVAL']['ITERATIVE_SCAN'] must be one of {', '.join(ITERATIVE_SCAN_MODES)}, "
            f"not {values.iterative_scan!r}."
        )
    tuples = values.max_scan_tuples
    if isinstance(tuples, bool) or not isinstance(tuples, int) or not 1 <= tuples <= 2_147_483_647:
        raise InvalidRetrievalSettingError(
            f"AI_CORE['RETRIEVAL']['MAX_SCAN_TUPLES'] must be a positive integer, not {tuples!r}."
        )
