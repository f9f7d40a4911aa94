"""Receivers connected in ``ReviewConfig.ready()`` with explicit senders."""

from __future__ import annotations

from .services import review_item_create


def on_request_flagged(sender, *, request, reasons, **kwargs) -> None:
    """ai_core held an output: queue it for a reviewer, in the same transaction."""
    review_item_create(ai_request=request, reasons=list(reasons))
