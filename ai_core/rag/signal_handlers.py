"""The knowledge index's signal receivers, connected once by ``RagConfig.ready()``."""

from __future__ import annotations


def register_signal_handlers() -> None:
    from ai_core.response_cache import on_outputs_marked_stale

    from .models import OutputProvenance
    from .signals import outputs_marked_stale

    # A cached answer built on chunks that changed must not be served again.
    outputs_marked_stale.connect(
        on_outputs_marked_stale, sender=OutputProvenance, dispatch_uid="ai_core.response_cache.stale"
    )
