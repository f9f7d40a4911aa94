from django.apps import AppConfig


class AiCoreConfig(AppConfig):
    name = "ai_core"
    verbose_name = "AI core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_delete
        from wagtail.signals import published, unpublished

        from ai_core.checks import check_prompt_files, check_prompt_source, check_stream_settings
        from ai_core.models import PromptTemplate
        from ai_core.prompts.cache import bump_stamp_on_commit

        checks.register(check_prompt_files, "ai_core")
        checks.register(check_prompt_source, "ai_core")
        checks.register(check_stream_settings, "ai_core")
        # Every process re-reads live prompts when one is published, unpublished or deleted.
        for name, signal in (
            ("published", published),
            ("unpublished", unpublished),
            ("deleted", post_delete),
        ):
            signal.connect(bump_stamp_on_commit, sender=PromptTemplate, dispatch_uid=f"ai_core.prompt_{name}")
