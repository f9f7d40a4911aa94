from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = "Content"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect index upkeep with explicit senders (as wagtail.contrib.frontend_cache does).

        ``page_published`` rather than the ``after_publish_page`` hook: the signal fires on every
        publish route (edit view, bulk action, workflow approval, ``publish_scheduled``).
        """
        from django.db.models.signals import post_delete, post_save
        from wagtail.models import PageViewRestriction
        from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

        from . import signal_handlers as handlers
        from .models import ArticleIndexPage, ArticlePage, HomePage

        uid = "content.rag"
        page_published.connect(
            handlers.on_page_published, sender=ArticlePage, dispatch_uid=f"{uid}.published"
        )
        page_unpublished.connect(
            handlers.on_page_unpublished, sender=ArticlePage, dispatch_uid=f"{uid}.unpublished"
        )
        post_delete.connect(handlers.on_page_deleted, sender=ArticlePage, dispatch_uid=f"{uid}.deleted")
        for model in (ArticlePage, ArticleIndexPage):
            post_page_move.connect(
                handlers.on_page_moved, sender=model, dispatch_uid=f"{uid}.moved.{model.__name__}"
            )
        for model in (ArticleIndexPage, HomePage):
            page_slug_changed.connect(
                handlers.on_section_slug_changed, sender=model, dispatch_uid=f"{uid}.slug.{model.__name__}"
            )
        from ai_core.rag.models import PageIndexState
        from ai_core.rag.signals import page_indexed

        page_indexed.connect(
            handlers.on_page_indexed, sender=PageIndexState, dispatch_uid="content.summaries.indexed"
        )
        post_save.connect(
            handlers.on_view_restriction_saved, sender=PageViewRestriction, dispatch_uid=f"{uid}.restricted"
        )
        post_delete.connect(
            handlers.on_view_restriction_deleted,
            sender=PageViewRestriction,
            dispatch_uid=f"{uid}.unrestricted",
        )
