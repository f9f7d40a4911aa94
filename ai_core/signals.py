"""Signals other apps listen to (ai_core never imports them)."""

from django.dispatch import Signal

# Sent inside the transaction that stores an output needing review; kwargs: request, reasons.
request_flagged = Signal()

# After a vote is stored (or changed); kwargs: feedback, created. The review app flags summaries
# that get a thumbs-down.
feedback_received = Signal()
