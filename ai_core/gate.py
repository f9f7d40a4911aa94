"""The output gate: decides, after generation and before anyone sees it, whether an output needs a
human. Pluggable (``AI_CORE["OUTPUT_GATE"]``) so the review app supplies the rules and the queue
while ai_core never imports it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.module_loading import import_string

from . import conf
from .providers.base import Source  # re-exported: a gate plugin (review.gate) types its sources with it


@dataclass(kw_only=True)
class GateDecision:
    needs_review: bool = False
    reasons: list[str] = field(default_factory=list)


Gate = Callable[..., GateDecision]


def gate_output(*, request, spec, text: str, sources: Sequence[Source]) -> GateDecision:
    path = conf.setting_or_none("OUTPUT_GATE")
    if not path:
        return GateDecision(needs_review=spec.review_policy == "always", reasons=["high_stakes_prompt"])
    return import_string(path)(request=request, spec=spec, text=text, sources=sources)


def streams_to_visitor(spec) -> bool:
    """High-stakes prompts are never streamed: their text is shown only after approval."""
    return spec.review_policy != "always"


# --- The stream gate: a sentence-level pre-check for prompts that stream and may still be held.

StreamGate = Callable[[str, Sequence[Source]], list[str]]
# A sentence ends at . ! or ? (plus any closing quote and trailing [n] citations) before whitespace,
# or at a line break.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*(?=\s)|\n")


def stream_gate(spec) -> StreamGate | None:
    """``AI_CORE["STREAM_GATE"]`` (``callable(text_so_far, sources) -> reason codes``) for prompts
    whose output streams but may be held ("on_flag"); None when nothing needs checking."""
    path = conf.setting_or_none("STREAM_GATE")
    if not path or spec.review_policy != "on_flag" or not streams_to_visitor(spec):
        return None
    return import_string(path)


class GatedStream:
    """Publishes streamed text one completed sentence at a time, each checked first.

    Tokens of an "on_flag" answer would otherwise reach the visitor before the final gate runs.
    Once the check returns reasons, publishing stops for good (``reset`` tells the client to drop
    what it showed) and the final gate decides whether the whole answer is shown or held.
    """

    def __init__(
        self,
        *,
        check: StreamGate,
        sources: Sequence[Source],
        publish: Callable[[str], None],
        reset: Callable[[], None],
    ):
        self._check, self._sources, self._publish, self._reset = check, sources, publish, reset
        self.restart(notify=False)

    @property
    def shown(self) -> str:
        """The text visitors have been sent so far."""
        return self._text[: self._published]

    def flush(self) -> None:
        """Once the final gate has let the answer through: send what is still unsent (the last
        sentence, or everything after a hold, since the client dropped its text on ``reset``)."""
        start = 0 if self.held else self._published
        if self._text[start:]:
            self._publish(self._text[start:])
        self._published, self.held = len(self._text), False

    def restart(self, *, notify: bool = True) -> None:
        """A fallback model starts the answer again, and the new answer gets a fresh check."""
        self._text, self._published, self.held = "", 0, False
        if notify:
            self._reset()

    def feed(self, delta: str) -> None:
        self._text += delta
        if self.held:
            return
        ends = [match.end() for match in _SENTENCE_END.finditer(self._text, self._published)]
        if not ends:
            return
        complete = self._text[: ends[-1]]
        if self._check(complete, self._sources):
            self.held = True
            self._reset()
            return
        self._publish(complete[self._published :])
        self._published = len(complete)
