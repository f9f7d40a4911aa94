"""System check for the API's plug-in: ``ai_core.E006`` ``AI_CORE["REQUEST_SCOPE"]`` is set but is
not a dotted path to a callable. Caught by ``manage.py check`` (and deploys) rather than by the
first visitor who asks a question."""

from __future__ import annotations

from django.core.checks import CheckMessage, Error
from django.utils.module_loading import import_string

from ai_core import conf


def check_request_scope(app_configs=None, **kwargs) -> list[CheckMessage]:
    path = conf.setting_or_none("REQUEST_SCOPE")
    if not path:
        return []
    hint = "Name a function (*, request, page_id) returning .site_id and .locale, or leave it unset."
    if not isinstance(path, str):
        return [
            Error(
                f"AI_CORE['REQUEST_SCOPE'] must be a dotted path, not {path!r}.", hint=hint, id="ai_core.E006"
            )
        ]
    try:
        resolver = import_string(path)
    except ImportError as err:
        return [Error(f"AI_CORE['REQUEST_SCOPE'] cannot be imported: {err}", hint=hint, id="ai_core.E006")]
    if not callable(resolver):
        return [Error(f"AI_CORE['REQUEST_SCOPE'] ({path}) is not callable.", hint=hint, id="ai_core.E006")]
    return []
