"""Typed access to ``AI_CORE["ALERTS"]``: the daily cost thresholds that raise budget alerts.

Read through ``ai_core.conf`` and validated on every call (cheap, and ``override_settings`` in tests
just works); the system check in ``checks.py`` runs the same validation so a typo stops
``manage.py check`` instead of silently switching alerts off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ai_core import conf as ai_conf
from ai_core.conf import InvalidAICoreSettingError

DEFAULT_KEY = "default"
_KNOWN = {"DAILY_COST_USD", "RECIPIENTS"}
_KNOWN_COST = {"PER_PROMPT_KEY", "PER_USER"}


class InvalidBudgetAlertSettingError(InvalidAICoreSettingError):
    pass


@dataclass(kw_only=True, frozen=True)
class AlertSettings:
    """``None`` as a threshold switches that scope off."""

    prompt_key_thresholds: Mapping[str, Decimal | None] = field(default_factory=dict)
    prompt_key_default: Decimal | None = None
    user_threshold: Decimal | None = None
    # Explicit addresses, or (when empty) the members of ``recipient_group``, or (when that is empty
    # too) everyone who may manage budget alerts.
    recipients: tuple[str, ...] = ()
    recipient_group: str = ""

    def threshold_for_prompt_key(self, prompt_key: str) -> Decimal | None:
        if prompt_key in self.prompt_key_thresholds:
            return self.prompt_key_thresholds[prompt_key]
        return self.prompt_key_default

    @property
    def lowest_prompt_key_threshold(self) -> Decimal | None:
        """Lets the grouped query drop every prompt key that cannot be over any threshold."""
        values = [v for v in (*self.prompt_key_thresholds.values(), self.prompt_key_default) if v is not None]
        return min(values, default=None)

    @property
    def prompt_keys_enabled(self) -> bool:
        return self.lowest_prompt_key_threshold is not None


def _amount(value: Any, name: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidBudgetAlertSettingError(
            f"AI_CORE['ALERTS']{name} = {value!r} is not a decimal amount in USD (e.g. \"5.00\")."
        )
    try:
        # str() first: a float such as 0.1 becomes the amount its author wrote, not its binary value.
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as err:
        raise InvalidBudgetAlertSettingError(
            f"AI_CORE['ALERTS']{name} = {value!r} is not a decimal amount in USD (e.g. \"5.00\")."
        ) from err
    if not amount.is_finite() or amount < 0:
        raise InvalidBudgetAlertSettingError(
            f"AI_CORE['ALERTS']{name} = {value!r} must be a finite amount of 0 or more USD."
        )
    return amount


def _unknown(raw: Mapping[str, Any], known: set[str], name: str) -> None:
    unknown = set(raw) - known
    if unknown:
        raise InvalidBudgetAlertSettingError(
            f"AI_CORE['ALERTS']{name} has unknown keys {sorted(unknown)}; known: {sorted(known)}."
        )


def _recipients(value: Any) -> tuple[tuple[str, ...], str]:
    if value is None:
        return (), ""
    if isinstance(value, str):
        return (), value.strip()
    if not isinstance(value, list | tuple):
        raise InvalidBudgetAlertSettingError(
            "AI_CORE['ALERTS']['RECIPIENTS'] must be a list of email addresses or the name of a group."
        )
    for address in value:
        try:
            validate_email(address)
        except ValidationError as err:
            raise InvalidBudgetAlertSettingError(
                f"AI_CORE['ALERTS']['RECIPIENTS'] has {address!r}, which is not an email address."
            ) from err
    return tuple(value), ""


def alert_settings() -> AlertSettings:
    raw = ai_conf.setting_or_none("ALERTS") or {}
    if not isinstance(raw, Mapping):
        raise InvalidBudgetAlertSettingError("AI_CORE['ALERTS'] must be a dict.")
    _unknown(raw, _KNOWN, "")
    costs = raw.get("DAILY_COST_USD") or {}
    if not isinstance(costs, Mapping):
        raise InvalidBudgetAlertSettingError("AI_CORE['ALERTS']['DAILY_COST_USD'] must be a dict.")
    _unknown(costs, _KNOWN_COST, "['DAILY_COST_USD']")
    per_key = costs.get("PER_PROMPT_KEY") or {}
    if not isinstance(per_key, Mapping):
        raise InvalidBudgetAlertSettingError(
            "AI_CORE['ALERTS']['DAILY_COST_USD']['PER_PROMPT_KEY'] must map prompt keys (and 'default') "
            "to amounts."
        )
    thresholds = {
        str(key): _amount(value, f"['DAILY_COST_USD']['PER_PROMPT_KEY'][{key!r}]")
        for key, value in per_key.items()
    }
    recipients, group = _recipients(raw.get("RECIPIENTS"))
    return AlertSettings(
        prompt_key_default=thresholds.pop(DEFAULT_KEY, None),
        prompt_key_thresholds=thresholds,
        user_threshold=_amount(costs.get("PER_USER"), "['DAILY_COST_USD']['PER_USER']"),
        recipients=recipients,
        recipient_group=group,
    )
