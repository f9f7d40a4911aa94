"""``AI_CORE["PRIVACY"]``, read through one typed accessor and checked at start-up (``ai_core.E010``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ai_core import conf

ANONYMISE = "anonymise"
DELETE = "delete"


class InvalidPrivacySettingError(conf.InvalidAICoreSettingError):
    pass


@dataclass(kw_only=True, frozen=True)
class PrivacySettings:
    # None: requests are kept for ever (the default; the operator decides a period).
    retention_days: int | None = None
    # "anonymise" keeps the row (its cost, prompt, timings, status) without what was asked or
    # answered or who asked; "delete" removes it (its usage rows stay, unlinked).
    retention_action: str = ANONYMISE
    # Dotted path to a callable returning AIRequest ids that must outlive the period (the site's
    # own rules: an item a reviewer still has to look at). ai_core itself keeps requests awaiting
    # review or in flight, page summaries, and the requests behind active approved answers.
    retention_keep: str = ""
    # Prompt keys whose stored input has e-mail addresses and phone numbers masked; () keeps them.
    mask_contact_details: tuple[str, ...] = ("rag_answer",)
    # Rows per transaction, so a first run over years of requests never holds one long lock.
    batch_size: int = 500

    @property
    def retention(self) -> timedelta | None:
        return timedelta(days=self.retention_days) if self.retention_days else None


def privacy_settings() -> PrivacySettings:
    raw = conf.setting_or_none("PRIVACY")
    if raw is None:
        return PrivacySettings()
    if not isinstance(raw, dict):
        raise InvalidPrivacySettingError("AI_CORE['PRIVACY'] must be a dict.")
    unknown = set(raw) - {
        "RETENTION_DAYS",
        "RETENTION_ACTION",
        "RETENTION_KEEP",
        "MASK_CONTACT_DETAILS",
        "BATCH_SIZE",
    }
    if unknown:
        raise InvalidPrivacySettingError(f"AI_CORE['PRIVACY'] has unknown keys {sorted(unknown)}.")
    defaults = PrivacySettings()
    days = raw.get("RETENTION_DAYS", defaults.retention_days)
    action = raw.get("RETENTION_ACTION", defaults.retention_action)
    keep = raw.get("RETENTION_KEEP", defaults.retention_keep) or ""
    mask = raw.get("MASK_CONTACT_DETAILS", list(defaults.mask_contact_details))
    batch = raw.get("BATCH_SIZE", defaults.batch_size)
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise InvalidPrivacySettingError(
            f"AI_CORE['PRIVACY']['RETENTION_DAYS'] (AI_RETENTION_DAYS) must be a whole number of days "
            f"of at least 1, or None to keep requests; not {days!r}."
        )
    if action not in (ANONYMISE, DELETE):
        raise InvalidPrivacySettingError(
            f"AI_CORE['PRIVACY']['RETENTION_ACTION'] must be {ANONYMISE!r} or {DELETE!r}, not {action!r}."
        )
    if not isinstance(keep, str):
        raise InvalidPrivacySettingError("AI_CORE['PRIVACY']['RETENTION_KEEP'] must be a dotted path.")
    if not isinstance(mask, list | tuple) or not all(isinstance(key, str) and key for key in mask):
        raise InvalidPrivacySettingError(
            "AI_CORE['PRIVACY']['MASK_CONTACT_DETAILS'] must be a list of prompt keys ([] keeps contact details)."
        )
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InvalidPrivacySettingError(
            f"AI_CORE['PRIVACY']['BATCH_SIZE'] must be a positive integer, not {batch!r}."
        )
    return PrivacySettings(
        retention_days=days,
        retention_action=action,
        retention_keep=keep,
        mask_contact_details=tuple(mask),
        batch_size=batch,
    )


def check_privacy_settings(app_configs=None, **kwargs):
    from django.core.checks import Error
    from django.utils.module_loading import import_string

    try:
        settings = privacy_settings()
    except InvalidPrivacySettingError as err:
        return [
            Error(str(err), hint="See AI_CORE['PRIVACY'] in site_config/settings/ai.py.", id="ai_core.E010")
        ]
    if settings.retention_keep:
        try:
            keep = import_string(settings.retention_keep)
        except ImportError as err:
            return [
                Error(f"AI_CORE['PRIVACY']['RETENTION_KEEP'] cannot be imported: {err}", id="ai_core.E010")
            ]
        if not callable(keep):
            return [
                Error(
                    f"AI_CORE['PRIVACY']['RETENTION_KEEP'] ({settings.retention_keep}) is not callable.",
                    id="ai_core.E010",
                )
            ]
    return []
