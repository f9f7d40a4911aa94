"""Recording circuit-breaker transitions in the database, for reports over any date range.

The breaker (``breaker.py``) is plain Python; ``runtime.py`` wires it to Redis and to this module."""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction

from ai_core.models import CircuitEvent

logger = logging.getLogger(__name__)


def circuit_event_record(*, provider: str, model: str, event: str) -> CircuitEvent | None:
    """Store one transition; never raises, because it runs inside the model-call path.

    The savepoint keeps a failed insert from poisoning a surrounding transaction, and a database
    that is down only costs the report a row, not the visitor their answer.
    """
    try:
        with transaction.atomic():
            return CircuitEvent.objects.create(provider=provider, model=model, event=event)
    except DatabaseError:
        logger.warning("could not record circuit %s:%s %s", provider, model, event, exc_info=True)
        return None
