"""The stream gate (ai_core.gate.GatedStream, wired in processing._stream_sink): an "on_flag" answer
streams sentence by sentence, each checked first, so text the gate holds never reaches a visitor."""

import pytest

from ai_core import providers
from ai_core.gate import GatedStream, stream_gate
from ai_core.models import AIRequest
from ai_core.prompts.registry import get_prompt
from ai_core.services.processing import ai_request_process
from ai_core.streams import stream_events
from review import rules
from review.models import ReviewItem
from tests.conftest import generate_with_fake_claude

from .fakes import REFUND_TEXT

CLEAN = "You can ask for a refund within 30 days of purchase [1]. Refunds are paid to the original payment method [1]."
FLAGGED = (
    "You can ask for a refund within 30 days of purchase [1]. For your case, consult a lawyer first. "
    "Refunds are paid to the original payment method [1]."
)


def flags_lawyers(text: str, sources) -> list[str]:
    return ["referral"] if "lawyer" in text else []


def gated(check=flags_lawyers):
    sent: list[str] = []
    stream = GatedStream(check=check, sources=[], publish=sent.append, reset=lambda: sent.append("<reset>"))
    return stream, sent


def feed_words(stream: GatedStream, text: str) -> None:
    for n, word in enumerate(text.split(" ")):
        stream.feed(word if n == 0 else " " + word)


def test_text_is_sent_one_checked_sentence_at_a_time():
    checked: list[str] = []
    stream, sent = gated(lambda text, sources: checked.append(text) or [])
    feed_words(stream, "First one. Second [1]. Third")
    assert sent == ["First one.", " Second [1]."]
    assert checked == ["First one.", "First one. Second [1]."]  # the whole text so far, each time


def test_a_flagged_sentence_is_never_sent_and_the_client_is_told_to_reset():
    stream, sent = gated()
    feed_words(stream, FLAGGED + " More text follows. And more.")
    assert sent == ["You can ask for a refund within 30 days of purchase [1].", "<reset>"]
    assert stream.held and stream.shown == "You can ask for a refund within 30 days of purchase [1]."


def test_flush_sends_the_last_sentence_and_after_a_hold_the_whole_approved_text():
    stream, sent = gated()
    feed_words(stream, "One sentence. The last one")
    stream.flush()
    assert "".join(sent) == "One sentence. The last one"
    stream, sent = gated()
    feed_words(stream, "Ask a lawyer. Then more")
    stream.flush()  # the final gate let it through after all
    assert sent == ["<reset>", "Ask a lawyer. Then more"]


def test_a_fallback_restart_checks_the_new_answer_afresh():
    stream, sent = gated()
    feed_words(stream, "Ask a lawyer. ")
    stream.restart()
    feed_words(stream, "Fine answer. ")
    assert sent == ["<reset>", "<reset>", "Fine answer."]


@pytest.mark.django_db
def test_only_on_flag_prompts_get_a_stream_gate(settings):
    assert stream_gate(get_prompt("rag_answer")) is not None
    assert stream_gate(get_prompt("contract_analysis")) is None  # "always": never streamed at all
    assert stream_gate(get_prompt("content_classify")) is None  # "never": nothing to hold
    settings.AI_CORE = {**settings.AI_CORE, "STREAM_GATE": None}
    assert stream_gate(get_prompt("rag_answer")) is None


# --- Through the worker's processing, against the fake provider's real streaming protocol.


@pytest.fixture
def anthropic_via_fake(settings, fake_provider):
    generate_with_fake_claude(
        settings, fake_provider, CONTEXT_BUILDERS={"rag_answer": "tests.review.fakes.refund_sources"}
    )
    yield fake_provider
    providers.reset_providers()


def ask(visitor) -> AIRequest:
    return AIRequest.objects.create(
        user=visitor,
        prompt_key="rag_answer",
        prompt_version=get_prompt("rag_answer").version,
        payload={"question": "Can I get a refund?"},
    )


def streamed(ai_request) -> tuple[str, list[str], dict]:
    events = stream_events(ai_request.pk)
    deltas = "".join(data["text"] for _id, event, data in events if event == "delta")
    return deltas, [event for _id, event, _data in events], events[-1][2]


@pytest.mark.django_db
def test_a_flagged_answer_streams_only_its_checked_sentences_then_waits_for_review(
    anthropic_via_fake, visitor, settings
):
    from .fakes import watching

    settings.AI_CORE = {**settings.AI_CORE, "STREAM_GATE": "tests.review.fakes.watch_stream"}
    anthropic_via_fake.script(path="/v1/messages", reply=FLAGGED)
    ai_request = ask(visitor)
    watching["request_id"] = str(ai_request.pk)
    assert ai_request_process(request_id=str(ai_request.pk)).status == AIRequest.Status.AWAITING_REVIEW
    live = "".join(data["text"] for _id, event, data in watching["events"] if event == "delta")
    assert live == "You can ask for a refund within 30 days of purchase [1]."  # seen before the hold
    deltas, names, final = streamed(ai_request)
    assert "lawyer" not in str(stream_events(ai_request.pk))
    # A page connecting (or reconnecting) now replays none of the text sent before the hold.
    assert deltas == "" and names[-2:] == ["reset", "done"]
    assert final == {"status": "awaiting_review", "text": "", "citations": [], "model": "claude-sonnet-4-6"}
    item = ReviewItem.objects.get(ai_request=ai_request)
    assert item.reasons == [rules.PROFESSIONAL_REFERRAL, rules.WEAK_GROUNDING]
    assert item.original_text == FLAGGED


@pytest.mark.django_db
def test_a_clean_answer_streams_in_full_and_its_deltas_add_up_to_the_final_text(anthropic_via_fake, visitor):
    anthropic_via_fake.script(path="/v1/messages", reply=CLEAN)
    ai_request = ask(visitor)
    assert ai_request_process(request_id=str(ai_request.pk)).status == AIRequest.Status.DONE
    deltas, names, final = streamed(ai_request)
    assert deltas == CLEAN == final["text"]
    assert "reset" not in names and names.count("delta") >= 2
    assert REFUND_TEXT.startswith("You can ask for a refund")
    assert not ReviewItem.objects.filter(ai_request=ai_request).exists()


@pytest.mark.django_db
def test_an_answer_stopped_while_held_is_checked_like_a_final_answer_and_waits_for_review(
    anthropic_via_fake, visitor, reviewer, settings
):
    from review.services import review_item_approve

    from .fakes import stopping

    settings.AI_CORE = {**settings.AI_CORE, "STREAM_GATE": "tests.review.fakes.stop_when_held"}
    anthropic_via_fake.script(path="/v1/messages", reply=FLAGGED)
    ai_request = ask(visitor)
    stopping["request_id"] = str(ai_request.pk)
    assert ai_request_process(request_id=str(ai_request.pk)).status == AIRequest.Status.AWAITING_REVIEW
    ai_request.refresh_from_db()
    partial = ai_request.result
    assert "lawyer" in partial and len(partial) < len(FLAGGED)  # stopped part-way, kept for review
    assert "lawyer" not in str(stream_events(ai_request.pk))
    assert streamed(ai_request)[2]["status"] == "awaiting_review"
    item = ReviewItem.objects.get(ai_request=ai_request)
    assert item.original_text == partial and rules.PROFESSIONAL_REFERRAL in item.reasons

    review_item_approve(item=item, user=reviewer)
    ai_request.refresh_from_db()
    assert (ai_request.status, ai_request.result) == (AIRequest.Status.CANCELLED, partial)  # shown as stopped
