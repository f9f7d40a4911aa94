"""Signals ai_core sends for other apps to receive: ai_core defines and sends them, and never
imports a receiver (the review app connects to ``request_flagged`` in its ``ready()``)."""

from django.dispatch import Signal

# Sent inside the transaction that stores an output needing review; kwargs: request, reasons.
request_flagged = Signal()

# Sent inside the retention transaction that anonymised requests (ai_core/privacy/services.py), for
# apps holding their own copy of what was asked or answered; kwargs: request_ids (AIRequest pks).
requests_anonymised = Signal()
