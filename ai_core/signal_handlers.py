"""ai_core's signal receivers, connected once by ``AiCoreConfig.ready()``, each with an explicit
sender and ``dispatch_uid`` so a second ``ready()`` (tests, autoreload) cannot connect it twice."""

from __future__ import annotations


def register_signal_handlers() -> None:
    from django.db.models.signals import post_delete
    from wagtail.signals import published, unpublished

    from ai_core.answers.services import on_chunks_removed
    from ai_core.live_prompts.cache import bump_stamp_on_commit
    from ai_core.models import PromptTemplate
    from ai_core.rag.models import KnowledgeChunk
    from ai_core.rag.signals import chunks_removed

    # Every process re-reads live prompts when one is published, unpublished or deleted.
    for name, signal in (
        ("published", published),
        ("unpublished", unpublished),
        ("deleted", post_delete),
    ):
        signal.connect(bump_stamp_on_commit, sender=PromptTemplate, dispatch_uid=f"ai_core.prompt_{name}")

    # A source that left the index retires the approved answers that cite it.
    chunks_removed.connect(
        on_chunks_removed, sender=KnowledgeChunk, dispatch_uid="ai_core.answers_source_removed"
    )
