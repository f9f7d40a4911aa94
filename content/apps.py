from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = "Content"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the page receivers and give the article editor its "AI" tab.

        The tab is set here rather than on the model so that ``content.models`` imports no admin
        code (the panel reads ai_core tables; models load before admin code). Wagtail reads
        ``edit_handler`` when it first builds the editor and binds it to the model.
        """
        from django.core import checks

        from .admin.page_panel import article_edit_handler
        from .documents.conf import documents_settings_check
        from .documents.signal_handlers import register_signal_handlers as register_document_handlers
        from .models import ArticlePage
        from .signal_handlers import register_signal_handlers

        register_signal_handlers()
        register_document_handlers()
        checks.register(documents_settings_check)
        ArticlePage.edit_handler = article_edit_handler()
