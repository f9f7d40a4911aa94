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
        from ai_core.response_cache import on_outputs_marked_stale

        from . import checks  # noqa: F401  (registers the settings check)
        from .models import OutputProvenance
        from .signals import outputs_marked_stale

        outputs_marked_stale.connect(
            on_outputs_marked_stale, sender=OutputProvenance, dispatch_uid="ai_core.response_cache.stale"
        )
