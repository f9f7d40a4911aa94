"""Figure checks through the worker's processing: the fake provider streams crafted answers over
the real Anthropic protocol, against two fixed sources (tests.review.fakes.refund_sources)."""

import pytest

from ai_core.context import PromptContext
from ai_core.models import AIRequest
from ai_core.providers.base import Source
from ai_core.services.processing import ai_request_process
from ai_core.streams import stream_events
from review import rules
from review.models import ReviewItem

from . import test_stream_gate
from .test_stream_gate import ask, streamed

# The fake Anthropic server as the generation provider, with the fixed sources (a fixture).
anthropic_via_fake = test_stream_gate.anthropic_via_fake

pytestmark = pytest.mark.django_db

SUPPORTED = "Refunds are paid to the original payment method within 10 working days [1]."
CONTRADICTED = "You can ask for a refund within 14 days of purchase by writing to support [1]."


def run(fake, visitor, reply: str) -> AIRequest:
    from .fakes import watching

    fake.script(path="/v1/messages", reply=reply)
    ai_request = ask(visitor)
    watching["request_id"] = str(ai_request.pk)
    ai_request_process(request_id=str(ai_request.pk))
    ai_request.refresh_from_db()
    return ai_request


@pytest.fixture
def watched(settings):
    """The site's stream gate, also recording what the stream held at each check (a live page's view)."""
    from .fakes import watching

    settings.AI_CORE = {**settings.AI_CORE, "STREAM_GATE": "tests.review.fakes.watch_stream"}
    watching.clear()
    return watching


def test_a_contradicted_figure_is_never_streamed_and_waits_for_review_at_high_priority(
    anthropic_via_fake, visitor, watched
):
    ai_request = run(anthropic_via_fake, visitor, f"{SUPPORTED} {CONTRADICTED} Write to support for help.")
    assert ai_request.status == AIRequest.Status.AWAITING_REVIEW
    live = "".join(data["text"] for _id, event, data in watched["events"] if event == "delta")
    assert live == SUPPORTED  # the checked sentence before it was shown, then taken back
    assert "14 days" not in str(stream_events(ai_request.pk))
    deltas, names, final = streamed(ai_request)
    assert deltas == "" and names[-2:] == ["reset", "done"] and final["status"] == "awaiting_review"
    item = ReviewItem.objects.get(ai_request=ai_request)
    assert item.reasons == [rules.CONTRADICTED_FIGURE]
    assert item.priority == ReviewItem.Priority.HIGH


@pytest.mark.parametrize(
    "reply",
    [
        "You can ask for a refund within thirty days of purchase by writing to support [1]. "
        "Refunds are paid to the original payment method within ten working days [1].",
        "You can ask for a refund within 30 calendar days of purchase by writing to support [1].",
    ],
)
def test_figures_written_another_way_stream_in_full_and_are_shown(anthropic_via_fake, visitor, reply):
    ai_request = run(anthropic_via_fake, visitor, reply)
    assert ai_request.status == AIRequest.Status.DONE, ReviewItem.objects.filter(
        ai_request=ai_request
    ).first()
    deltas, names, final = streamed(ai_request)
    assert deltas == reply == final["text"] and "reset" not in names


def test_a_figure_cited_to_a_source_that_does_not_state_it_is_held_as_unsupported(
    anthropic_via_fake, visitor
):
    # Source 2 is the opening-hours passage; the 10 working days are in source 1.
    ai_request = run(anthropic_via_fake, visitor, SUPPORTED.replace("[1]", "[2]"))
    assert ai_request.status == AIRequest.Status.AWAITING_REVIEW
    item = ReviewItem.objects.get(ai_request=ai_request)
    assert rules.UNSUPPORTED_FIGURE in item.reasons and rules.CONTRADICTED_FIGURE not in item.reasons
    assert item.priority == ReviewItem.Priority.NORMAL


# --- Each kind of figure through the same path, against a passage that states one of each.

TERMS = (
    "The annual plan costs £1,200 and the monthly plan £90. Annual plans get 30 per cent back within "
    "5–10 working days. The offer ends on 1 March 2026. Call +44 20 7946 0958 from 9am to 5pm, "
    "or email billing@example.com."
)


def terms_sources(*, request, spec) -> PromptContext:
    """One passage stating a figure of each kind (plugged in through ``CONTEXT_BUILDERS``)."""
    return PromptContext(sources=[Source(number=1, chunk_id="", text=TERMS, title="Plan terms")])


@pytest.fixture
def terms(anthropic_via_fake, settings):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "CONTEXT_BUILDERS": {"rag_answer": "tests.review.test_figure_gate.terms_sources"},
    }
    return anthropic_via_fake


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("The monthly plan costs £9 [1].", rules.CONTRADICTED_FIGURE),
        ("The annual plan costs $1,200 [1].", rules.CONTRADICTED_FIGURE),
        ("Annual plans get 20% back [1].", rules.CONTRADICTED_FIGURE),
        ("Annual plans get money back within 5–12 working days [1].", rules.CONTRADICTED_FIGURE),
        ("The offer ends on 1 April 2026 [1].", rules.CONTRADICTED_FIGURE),
        ("Call +44 20 7946 0000 for billing [1].", rules.CONTRADICTED_FIGURE),
        ("Email sales@example.com for billing [1].", rules.CONTRADICTED_FIGURE),
        ("Lines are open from 9am to 6pm [1].", rules.CONTRADICTED_FIGURE),
        ("Annual plans get 30 per cent back within 14 days [1].", rules.UNSUPPORTED_FIGURE),
        ("The annual plan costs £1,200 for 25 seats [1].", rules.UNSUPPORTED_FIGURE),
    ],
)
def test_each_kind_of_figure_the_passage_states_otherwise_is_held(terms, visitor, reply, reason):
    ai_request = run(terms, visitor, reply)
    assert ai_request.status == AIRequest.Status.AWAITING_REVIEW
    assert reason in ReviewItem.objects.get(ai_request=ai_request).reasons


@pytest.mark.parametrize(
    "reply",
    [
        "The annual plan costs £1200 and the monthly plan costs 90 GBP [1].",
        "Annual plans get 30% back within five to ten working days [1].",
        "Annual plans get thirty percent back within 7 working days [1].",
        "The offer ends on 01/03/2026 [1], that is 2026-03-01 [1].",
        "Call 020 7946 0958 from 09:00 to 17:00, or email Billing@Example.com [1].",
    ],
)
def test_the_same_figures_written_another_way_are_shown(terms, visitor, reply):
    ai_request = run(terms, visitor, reply)
    assert ai_request.status == AIRequest.Status.DONE, ReviewItem.objects.filter(
        ai_request=ai_request
    ).first()
    assert streamed(ai_request)[0] == reply
