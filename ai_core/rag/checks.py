"""System checks: a broken AI_CORE["RETRIEVAL"] fails ``manage.py check``, not the first question.
Registered in ``RagConfig.ready()``."""

from __future__ import annotations

from django.core import checks


def retrieval_settings_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from .conf import InvalidRetrievalSettingError, page_access_check, retrieval_settings

    try:
        values = retrieval_settings()
    except InvalidRetrievalSettingError as err:
        return [checks.Error(str(err), id="rag.E001")]
    try:
        page_access_check(values)
    except InvalidRetrievalSettingError as err:
        return [checks.Error(str(err), id="rag.E002")]
    return []


def s3_ingest_settings_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from .s3 import InvalidS3IngestSettingError, s3_ingest_settings

    try:
        s3_ingest_settings()
    except InvalidS3IngestSettingError as err:
        return [checks.Error(str(err), id="rag.E010")]
    return []
