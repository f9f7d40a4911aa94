from django.apps import AppConfig


class AiCoreConfig(AppConfig):
    name = "ai_core"
    verbose_name = "AI core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Every app does the same two things here: register its system checks under its own
        label, and connect its receivers through ``signal_handlers.register_signal_handlers()``."""
        from django.core import checks

        from .answers.conf import check_approved_answer_settings
        from .checks import check_prompt_files, check_prompt_source, check_stream_settings
        from .privacy.conf import check_privacy_settings
        from .signal_handlers import register_signal_handlers

        checks.register(check_prompt_files, "ai_core")
        checks.register(check_prompt_source, "ai_core")
        checks.register(check_stream_settings, "ai_core")
        checks.register(check_privacy_settings, "ai_core")
        checks.register(check_approved_answer_settings, "ai_core")
        register_signal_handlers()
