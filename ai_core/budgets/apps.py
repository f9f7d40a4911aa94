from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    """Token budgets: a sub-app of ai_core with its own migrations."""

    name = "ai_core.budgets"
    label = "budgets"
    verbose_name = "AI budgets"
    default_auto_field = "django.db.models.BigAutoField"
