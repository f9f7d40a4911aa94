"""System checks: a broken AI_CORE["RETRIEVAL"] fails ``manage.py check``, not the first question.
Registered in ``RagConfig.ready()``."""

from __future__ import annotations

import re

from django.core import checks


def retrieval_settings_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from .conf import (
        InvalidRetrievalSettingError,
        document_access_check,
        documents_max_bytes,
        page_access_check,
        retrieval_settings,
    )

    try:
        values = retrieval_settings()
    except InvalidRetrievalSettingError as err:
        return [checks.Error(str(err), id="rag.E001")]
    try:
        page_access_check(values)
        document_access_check(values)
    except InvalidRetrievalSettingError as err:
        return [checks.Error(str(err), id="rag.E002")]
    try:
        documents_max_bytes()
    except InvalidRetrievalSettingError as err:
        return [checks.Error(str(err), id="rag.E003")]
    return []


def s3_ingest_settings_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from .s3 import InvalidS3IngestSettingError, s3_ingest_settings

    try:
        s3_ingest_settings()
    except InvalidS3IngestSettingError as err:
        return [checks.Error(str(err), id="rag.E010")]
    return []


def pgvector_version_check(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """The installed pgvector must support what the schema and the queries use. A database check:
    it runs in ``migrate`` and ``check --database default``, not in every management command."""
    from django.db import DatabaseError, connections

    messages: list[checks.CheckMessage] = []
    for alias in databases or ():
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
                row = cursor.fetchone()
        except DatabaseError:
            continue  # no database to ask (yet); migrate reports that itself
        if row is not None:  # None: not created yet, migration 0001 creates it
            messages.extend(pgvector_version_problems(row[0]))
    return messages


def pgvector_version_problems(version: str) -> list[checks.CheckMessage]:
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if numbers < (0, 7):
        return [
            checks.Error(
                f"pgvector {version} has no halfvec type, which the HNSW indexes use (migration "
                "rag 0003). Install pgvector 0.8 or later (scripts/services.sh builds 0.8.0).",
                id="rag.E020",
            )
        ]
    if numbers < (0, 8):
        return [
            checks.Warning(
                f"pgvector {version} has no iterative index scans: PostgreSQL accepts "
                "AI_CORE['RETRIEVAL']['ITERATIVE_SCAN'] and ignores it, so a search filtered by site "
                "or locale can return fewer chunks than exist. Install pgvector 0.8 or later.",
                id="rag.W020",
            )
        ]
    return []
