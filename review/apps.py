from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from .checks import check_review_settings
        from .signal_handlers import register_signal_handlers

        checks.register(check_review_settings, "review")
        register_signal_handlers()
