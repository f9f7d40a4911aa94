"""The flagging rules, one pure function each: strings in, reason codes out."""

from dataclasses import dataclass

import pytest

from review import rules


@dataclass
class Src:
    number: int
    text: str


REFUND = Src(1, "You can ask for a refund within 30 days of purchase by writing to support. "
                "Refunds are paid to the original payment method within 10 working days.")  # fmt: skip
CONTACT = Src(
    2, "Call us on +44 20 7946 0958 or email help@example.com. Our office: 10 Downing St, SW1A 2AA."
)


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that request.",
        "As an AI language model, I have no opinion.",
        "I am unable to provide that information.",
        "I can\u2019t assist with contracts.",  # curly apostrophe
    ],
)
def test_refusal_phrases_are_flagged(text):
    assert rules.refusal(text) == [rules.REFUSAL]


def test_an_ordinary_answer_and_the_prompts_own_dont_know_are_not_refusals():
    assert rules.refusal("You can ask for a refund within 30 days [1].") == []
    assert rules.refusal("I don't know: the available sources don't answer this question.") == []


@pytest.mark.parametrize(
    "text",
    [
        "You should consult a lawyer before signing.",
        "Please speak to your doctor about side effects.",
        "It is best to seek legal advice.",
        "Talk with a qualified financial adviser first.",
        "Check with a solicitor.",
        "Get independent legal advice on this clause.",
    ],
)
def test_professional_referrals_are_flagged(text):
    assert rules.professional_referral(text) == [rules.PROFESSIONAL_REFERRAL]


def test_mentioning_a_profession_without_referring_is_not_a_referral():
    assert rules.professional_referral("Our lawyers wrote these refund terms in 2020.") == []


def test_high_stakes_follows_the_prompt_review_policy():
    assert rules.high_stakes("always") == [rules.HIGH_STAKES]
    assert rules.high_stakes("on_flag") == []
    assert rules.high_stakes("never") == []


def test_empty_and_over_long_outputs():
    assert rules.empty_or_too_long("  \n", max_chars=100) == [rules.EMPTY]
    assert rules.empty_or_too_long("x" * 101, max_chars=100) == [rules.TOO_LONG]
    assert rules.empty_or_too_long("x" * 100, max_chars=100) == []


def test_citing_a_source_that_was_not_provided_is_flagged():
    assert rules.unknown_citations("Refunds take 10 days [1][3].", [REFUND, CONTACT]) == [
        rules.UNKNOWN_CITATION
    ]
    assert rules.unknown_citations("Refunds take 10 days [1, 2].", [REFUND, CONTACT]) == []
    assert rules.unknown_citations("No citations at all.", []) == []


@pytest.mark.parametrize(
    "text",
    [
        "Email the manager at boss@example.org.",
        "Ring 0161 496 0000 for help.",
        "Pay into IBAN GB82 WEST 1234 5698 7654 32.",
        "Send it to 1012 AB Amsterdam.",
        "Our warehouse is at EC1A 1BB.",
    ],
)
def test_contact_details_not_in_the_sources_are_flagged(text):
    assert rules.personal_data(text, [REFUND, CONTACT]) == [rules.PERSONAL_DATA]


def test_contact_details_taken_from_the_sources_are_not_flagged_however_they_are_written():
    text = "Call 020 7946 0958 [2], write to HELP@example.com [2] or visit SW1A 2AA [2]."
    assert rules.personal_data(text, [REFUND, CONTACT]) == []


def test_dates_and_amounts_are_not_mistaken_for_phone_numbers():
    assert rules.contact_details("On 2024-01-05 we refunded 1,000,000 euros within 30 days.") == set()


def test_sentences_keep_citations_written_after_the_full_stop_and_drop_list_markers():
    assert rules.sentences("- Refunds within 30 days. [1] Paid back soon.\n1. Second item") == [
        "Refunds within 30 days [1].",
        "Paid back soon.",
        "Second item",
    ]


def test_an_answer_that_reuses_its_sources_wording_is_grounded():
    text = "You can ask for a refund within 30 days of purchase [1]. Refunds are paid to the original payment method [1]."
    assert rules.weak_grounding(text, [REFUND, CONTACT]) == []


def test_a_sentence_no_cited_source_supports_makes_the_answer_weakly_grounded():
    text = "You can ask for a refund within 30 days [1]. Our chief executive personally approves every refund [1]."
    unsupported, checked = rules.unsupported_sentences(text, [REFUND, CONTACT])
    assert unsupported == ["Our chief executive personally approves every refund [1]."] and checked == 2
    assert rules.weak_grounding(text, [REFUND, CONTACT]) == [rules.WEAK_GROUNDING]
    assert rules.weak_grounding(text, [REFUND, CONTACT], max_unsupported_share=0.5) == []


def test_a_sentence_is_measured_against_the_source_it_cites_not_any_source():
    text = "Refunds are paid to the original payment method within 10 working days [2]."
    assert rules.weak_grounding(text, [REFUND, CONTACT]) == [rules.WEAK_GROUNDING]
    assert rules.weak_grounding(text.replace("[2]", "[1]"), [REFUND, CONTACT]) == []


def test_grounding_does_not_apply_without_sources_and_skips_short_and_dont_know_sentences():
    assert rules.weak_grounding("The moon is made of cheese, reportedly.", []) == []
    assert rules.weak_grounding("Yes. See below.", [REFUND]) == []
    text = "I don't know: the available sources don't answer this question."
    assert rules.weak_grounding(text, [REFUND]) == []


def test_evaluate_lists_every_enabled_rule_in_a_stable_order():
    text = "Email boss@example.org [5]. Consult a lawyer about the weather on Mars."
    found = rules.evaluate(text=text, sources=[REFUND], review_policy="always", config=rules.RuleConfig())
    assert found == [
        rules.HIGH_STAKES,
        rules.PROFESSIONAL_REFERRAL,
        rules.UNKNOWN_CITATION,
        rules.PERSONAL_DATA,
        rules.UNSUPPORTED_FIGURE,  # the address is in no source
        rules.WEAK_GROUNDING,
    ]
    only_pii = rules.RuleConfig(enabled=frozenset({rules.PERSONAL_DATA}))
    assert rules.evaluate(text=text, sources=[REFUND], review_policy="always", config=only_pii) == [
        rules.PERSONAL_DATA
    ]


def test_evaluate_partial_never_calls_a_prefix_empty():
    assert rules.evaluate_partial(text="", sources=[], config=rules.RuleConfig()) == []
    assert rules.evaluate(text="", sources=[], review_policy="on_flag", config=rules.RuleConfig()) == [
        rules.EMPTY
    ]


def test_priority_high_stakes_and_personal_data_are_high_refusals_alone_are_low():
    high, low = {rules.HIGH_STAKES, rules.PERSONAL_DATA}, {rules.EMPTY, rules.REFUSAL}
    assert rules.priority_for([rules.WEAK_GROUNDING, rules.PERSONAL_DATA], high=high, low=low) == "high"
    assert rules.priority_for([rules.REFUSAL], high=high, low=low) == "low"
    assert rules.priority_for([rules.REFUSAL, rules.WEAK_GROUNDING], high=high, low=low) == "normal"
    assert rules.priority_for([], high=high, low=low) == "normal"
