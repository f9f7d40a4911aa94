"""Answer reuse: before a question is generated, an earlier answer a reviewer approved may answer
it at once, at no cost. Pluggable (``AI_CORE["ANSWER_REUSE"]``, a dotted path), as context builders
are: the lookup (``ai_core.answers.reuse``) reads the knowledge store, which itself depends on
``ai_core.services``, so the processing service must not import it directly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.utils.module_loading import import_string

from . import conf

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ReusedAnswer:
    answer_id: int
    text: str
    citations: list[dict] = field(default_factory=list)
    similarity: float = 0.0
    # Called inside the transaction that ends the request: provenance, hit count, the usage row.
    # Returns False when the answer left service since the lookup (the request is then generated).
    record_use: Callable[..., bool] = lambda **kwargs: True


def reusable_answer(*, request, spec) -> ReusedAnswer | None:
    """The approved answer for ``request``, or None. A failing lookup never fails the question: it
    is generated as it would have been without reuse. The task's soft time limit is not a failure
    of the lookup: it ends the task, as it would anywhere else (swallowed, the task went on to call
    a provider until the hard limit killed the process)."""
    path = conf.setting_or_none("ANSWER_REUSE")
    if not path:
        return None
    try:
        return import_string(path)(request=request, spec=spec)
    except SoftTimeLimitExceeded:
        raise
    except Exception:  # an optimisation must not cost the visitor an answer
        logger.exception("approved-answer lookup failed for ai_request %s; generating", request.pk)
        return None
