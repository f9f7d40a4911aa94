from django.apps import AppConfig


class RagConfig(AppConfig):
    """Retrieval-augmented generation: the knowledge store, indexing services and retrieval.

    A sub-app of ``ai_core`` with its own label and migrations, so its schema evolves without
    touching (or conflicting with) ``ai_core``'s migration history.
    """

    name = "ai_core.rag"
    label = "rag"
    verbose_name = "AI knowledge index"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from .checks import pgvector_version_check, retrieval_settings_check, s3_ingest_settings_check
        from .signal_handlers import register_signal_handlers

        checks.register(retrieval_settings_check, "rag")
        checks.register(s3_ingest_settings_check, "rag")
        checks.register(pgvector_version_check, "rag", checks.Tags.database)
        register_signal_handlers()
