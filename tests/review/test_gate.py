"""The review app's gates as ai_core calls them: policy first, then the configured rules."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from ai_core.gate import gate_output
from ai_core.prompts.registry import get_prompt
from ai_core.providers.base import Source
from review import rules
from review.checks import check_review_settings
from review.conf import review_settings
from review.gate import review_gate, stream_gate

pytestmark = pytest.mark.django_db

SOURCES = [Source(number=1, chunk_id="7", text="You can ask for a refund within 30 days of purchase.")]
REFERRAL = "You can ask for a refund within 30 days of purchase [1]. Consult a lawyer first."


def with_review(settings, **overrides):
    settings.AI_CORE = {**settings.AI_CORE, "REVIEW": {**settings.AI_CORE["REVIEW"], **overrides}}


def test_the_site_is_configured_with_the_review_gates():
    decision = gate_output(request=None, spec=get_prompt("rag_answer"), text=REFERRAL, sources=SOURCES)
    assert decision.needs_review and decision.reasons == [rules.PROFESSIONAL_REFERRAL]


def test_a_clean_grounded_answer_goes_straight_through():
    decision = review_gate(
        request=None, spec=get_prompt("rag_answer"), text=SOURCES[0].text + " [1]", sources=SOURCES
    )
    assert not decision.needs_review and decision.reasons == []


def test_policy_never_is_never_held_whatever_the_text():
    decision = review_gate(
        request=None, spec=get_prompt("content_classify"), text="Consult a lawyer.", sources=[]
    )
    assert not decision.needs_review


def test_policy_always_is_held_even_with_the_high_stakes_rule_switched_off(settings):
    with_review(settings, RULES={"high_stakes_prompt": False})
    decision = review_gate(request=None, spec=get_prompt("contract_analysis"), text="Fine.", sources=[])
    assert decision.needs_review and decision.reasons[0] == rules.HIGH_STAKES


def test_a_rule_switched_off_in_settings_no_longer_holds(settings):
    with_review(settings, RULES={"professional_referral": False})
    decision = review_gate(request=None, spec=get_prompt("rag_answer"), text=REFERRAL, sources=SOURCES)
    assert not decision.needs_review


def test_thresholds_come_from_settings(settings):
    text = (
        "You can ask for a refund within 30 days [1]. Managers approve refunds personally every Friday [1]."
    )
    assert review_gate(request=None, spec=get_prompt("rag_answer"), text=text, sources=SOURCES).reasons == [
        rules.WEAK_GROUNDING
    ]
    with_review(settings, MAX_UNSUPPORTED_SHARE=0.5)
    assert not review_gate(
        request=None, spec=get_prompt("rag_answer"), text=text, sources=SOURCES
    ).needs_review


def test_the_stream_gate_checks_text_so_far_with_the_same_rules():
    assert stream_gate("You can ask for a refund within 30 days of purchase [1].", SOURCES) == []
    assert stream_gate(REFERRAL, SOURCES) == [rules.PROFESSIONAL_REFERRAL]


@pytest.mark.parametrize(
    "overrides",
    [{"RULES": {"no_such_rule": True}}, {"MIN_SENTENCE_SUPPORT": 2}, {"HIGH_PRIORITY_REASONS": ["nope"]}],
)
def test_bad_review_settings_fail_the_system_check_naming_the_setting(settings, overrides):
    with_review(settings, **overrides)
    with pytest.raises(ImproperlyConfigured, match="AI_CORE\\['REVIEW'\\]"):
        review_settings()
    (error,) = check_review_settings()
    assert error.id == "review.E001"


def test_an_unimportable_gate_path_fails_the_system_check(settings):
    settings.AI_CORE = {**settings.AI_CORE, "OUTPUT_GATE": "review.gate.no_such_gate"}
    assert [e.id for e in check_review_settings()] == ["review.E002"]
