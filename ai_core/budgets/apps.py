from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    """Token budgets and cost alerts: a sub-app of ai_core with its own migrations."""

    name = "ai_core.budgets"
    label = "budgets"
    verbose_name = "AI budgets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_delete, post_save, pre_save

        from . import signals
        from .checks import (
            check_alert_settings,
            check_budget_pools,
            check_summary_catch_up,
            check_trusted_proxies,
        )
        from .models import BudgetOverride

        checks.register(check_alert_settings, "budgets")
        checks.register(check_budget_pools, "budgets")
        checks.register(check_summary_catch_up, "budgets")
        checks.register(check_trusted_proxies, "budgets")
        pre_save.connect(
            signals.remember_previous_user, sender=BudgetOverride, dispatch_uid="budget-override-pre"
        )
        post_save.connect(signals.override_saved, sender=BudgetOverride, dispatch_uid="budget-override-saved")
        post_delete.connect(
            signals.override_deleted, sender=BudgetOverride, dispatch_uid="budget-override-deleted"
        )
