"""The review app's side of ai_core's gate hooks (``AI_CORE["OUTPUT_GATE"]`` and ``["STREAM_GATE"]``).

Both run in the worker, so they only evaluate rules; the queue item is created by the receiver of
``request_flagged``, inside the transaction that stores the held output.
"""

from __future__ import annotations

from collections.abc import Sequence

from ai_core.gate import GateDecision, Source

from . import rules
from .conf import review_settings


def review_gate(*, request, spec, text: str, sources: Sequence[Source]) -> GateDecision:
    """Policy "never" is never held, "always" always is (whatever the rule switches say), and
    "on_flag" is held when any enabled rule finds something."""
    if spec.review_policy == "never":
        return GateDecision(needs_review=False, reasons=[])
    reasons = rules.evaluate(
        text=text, sources=sources, review_policy=spec.review_policy, config=review_settings().rules
    )
    if spec.review_policy == "always" and rules.HIGH_STAKES not in reasons:
        reasons = [rules.HIGH_STAKES, *reasons]
    return GateDecision(needs_review=bool(reasons), reasons=reasons)


def stream_gate(text_so_far: str, sources: Sequence[Source]) -> list[str]:
    """Checked before each completed sentence of a streamed answer is sent to the visitor."""
    return rules.evaluate_partial(text=text_so_far, sources=sources, config=review_settings().rules)
