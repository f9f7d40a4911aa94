from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    """Token budgets and cost alerts: a sub-app of ai_core with its own migrations."""

    name = "ai_core.budgets"
    label = "budgets"
    verbose_name = "AI budgets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from .checks import (
            check_alert_settings,
            check_budget_pools,
            check_summary_catch_up,
            check_trusted_proxies,
        )

        checks.register(check_alert_settings, "budgets")
        checks.register(check_budget_pools, "budgets")
        checks.register(check_summary_catch_up, "budgets")
        checks.register(check_trusted_proxies, "budgets")
