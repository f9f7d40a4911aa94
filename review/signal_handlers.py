"""Review's signal receivers, connected once by ``ReviewConfig.ready()`` with explicit senders.
Review listens to ai_core's ``request_flagged`` and the knowledge store's ``chunks_replaced``;
ai_core never imports review."""

from __future__ import annotations

from .services import review_item_create


def register_signal_handlers() -> None:
    from ai_core.models import AIRequest
    from ai_core.signals import request_flagged

    request_flagged.connect(on_request_flagged, sender=AIRequest, dispatch_uid="review.request_flagged")

    from ai_core.signals import requests_anonymised

    from .retention import on_requests_anonymised

    # Retention anonymised old requests: the decided items' copies of their text go too.
    requests_anonymised.connect(
        on_requests_anonymised, sender=AIRequest, dispatch_uid="review.requests_anonymised"
    )

    from ai_core.rag.api import chunks_replaced
    from ai_core.rag.models import KnowledgeChunk

    from .impact import on_chunks_replaced

    # A publish rewrote cited passages: approved answers resting on them go back to a reviewer.
    chunks_replaced.connect(on_chunks_replaced, sender=KnowledgeChunk, dispatch_uid="review.chunks_replaced")


def on_request_flagged(sender, *, request, reasons, **kwargs) -> None:
    """ai_core held an output: queue it for a reviewer, in the same transaction."""
    review_item_create(ai_request=request, reasons=list(reasons))
