"""System checks: a broken AI_CORE["RETRIEVAL"] fails ``manage.py check``, not the first question."""

from __future__ import annotations

from django.core import checks


@checks.register(checks.Tags.compatibility)
def retrieval_settings_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from .conf import InvalidRetrievalSettingError, retrieval_settings

    try:
        retrieval_settings()
    except InvalidRetrievalSettingError as err:
        return [checks.Error(str(err), id="rag.E001")]
    return []
