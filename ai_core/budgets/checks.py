"""System checks: a bad alert threshold fails ``manage.py check`` instead of silently never alerting."""

from __future__ import annotations

from django.core import checks

from .conf import InvalidBudgetAlertSettingError, alert_settings


def check_alert_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        alert_settings()
    except InvalidBudgetAlertSettingError as err:
        return [
            checks.Error(
                str(err),
                hint="Amounts are USD strings such as \"5.00\"; see AI_CORE['ALERTS'] in site_config/settings/ai.py.",
                id="budgets.E001",
            )
        ]
    return []
