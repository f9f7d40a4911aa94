from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect to ai_core's flag signal with an explicit sender; ai_core never imports review."""
        from django.core import checks

        from ai_core.models import AIRequest
        from ai_core.signals import request_flagged

        from .checks import check_review_settings
        from .signal_handlers import on_request_flagged

        checks.register(check_review_settings, "review")
        request_flagged.connect(on_request_flagged, sender=AIRequest, dispatch_uid="review.request_flagged")
