"""System checks: bad review settings fail ``manage.py check`` rather than the first flagged answer."""

from __future__ import annotations

from django.core import checks
from django.utils.module_loading import import_string

from ai_core import conf as ai_conf

from .conf import InvalidReviewSettingError, review_settings


def check_review_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    try:
        review_settings()
    except InvalidReviewSettingError as err:
        errors.append(checks.Error(str(err), id="review.E001"))
    for name in ("OUTPUT_GATE", "STREAM_GATE"):
        path = ai_conf.setting_or_none(name)
        if not path:
            continue
        try:
            import_string(path)
        except ImportError as err:
            errors.append(
                checks.Error(f"AI_CORE[{name!r}] = {path!r} cannot be imported: {err}", id="review.E002")
            )
    return errors
