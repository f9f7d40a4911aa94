"""Stand-ins plugged in through settings (``AI_CORE["CONTEXT_BUILDERS"]``), never by patching."""

from ai_core.context import PromptContext
from ai_core.providers.base import Source

REFUND_TEXT = (
    "You can ask for a refund within 30 days of purchase by writing to support. "
    "Refunds are paid to the original payment method within 10 working days."
)


def refund_sources(*, request, spec) -> PromptContext:
    """Two fixed sources, as retrieval would number them."""
    return PromptContext(
        sources=[
            Source(number=1, chunk_id="", text=REFUND_TEXT, title="Refund terms", url="/guides/refunds/"),
            Source(
                number=2,
                chunk_id="",
                text="Our offices are closed on public holidays.",
                title="Opening hours",
            ),
        ]
    )


# The request stop_when_held stops (set by the test).
stopping: dict[str, str] = {}


def stop_when_held(text_so_far: str, sources) -> list[str]:
    """A stream gate that also presses Stop when it holds, as a visitor might while the answer is
    on hold: the worker sees the flag at its next token."""
    from ai_core.streams import cancel_request_stream

    if "lawyer" not in text_so_far:
        return []
    cancel_request_stream(stopping["request_id"])
    return ["professional_referral"]


# What watch_stream saw published on the request it watches (set by the test).
watching: dict = {}


def watch_stream(text_so_far: str, sources) -> list[str]:
    """The site's stream gate, also noting what the stream held when each sentence was checked: a
    live page's view, before a hold empties the stream."""
    from ai_core.streams import stream_events
    from review.gate import stream_gate

    watching["events"] = stream_events(watching["request_id"])
    return stream_gate(text_so_far, sources)
