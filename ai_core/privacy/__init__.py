"""Privacy of what visitors ask: contact details masked before a question is stored, and visitor
requests anonymised (or deleted) once older than ``AI_CORE["PRIVACY"]["RETENTION_DAYS"]``.

``masking`` is plain Python (no Django); ``conf`` reads the setting; ``services`` runs the purge
for the beat task ``ai_core.purge_expired_requests``.
"""
