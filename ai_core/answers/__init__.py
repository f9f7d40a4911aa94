"""Approved answers reused for later questions: settings (``conf``) and the worker's lookup
(``reuse``). The model is ``ai_core.models.ApprovedAnswer``; writes are in
``ai_core.services.approved_answers``, reads in ``ai_core.selectors.approved_answers``."""
