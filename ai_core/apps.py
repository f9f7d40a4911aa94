from django.apps import AppConfig


class AiCoreConfig(AppConfig):
    name = "ai_core"
    verbose_name = "AI core"
    default_auto_field = "django.db.models.BigAutoField"
