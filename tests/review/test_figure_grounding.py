"""The figure rules (rules.figure_grounding) on crafted answers: each sentence's figures against the
sources that sentence cites, and what must not flag."""

from dataclasses import dataclass

import pytest

from review import rules
from review.conf import review_settings


@dataclass
class Src:
    number: int
    text: str


REFUND = Src(
    1,
    "Refund policy 2024\nYou can ask for a refund within 30 days of purchase by writing to support. "
    "Refunds are paid to the original payment method within 5–10 working days. "
    "The administration fee is £1,200 for enterprise plans, and annual plans get 30 per cent back.",
)
CONTACT = Src(
    2,
    "Call us on +44 20 7946 0958 or email help@example.com, 9am to 5pm. "
    "Since 1 March 2025, orders over £90 ship free within two weeks.",
)
SOURCES = [REFUND, CONTACT]


def flags(text: str, sources=SOURCES) -> list[str]:
    return rules.figure_grounding(text, sources)


@pytest.mark.parametrize(
    "text",
    [
        "You can ask for a refund within thirty days [1].",
        "You can ask for a refund within 30 days of purchase [1]. Refunds take 7 working days [1].",
        "Refunds are paid within 5 to 10 working days [1].",
        "Refunds are paid within between 5 and 10 working days [1].",
        "The fee is £1200 [1] and annual plans get 30% back [1].",
        "Orders over 90 GBP ship free within a fortnight [2].",
        "Orders over £90 ship free within 14 days [2].",
        "This has applied since 01/03/2025 [2], or 2025-03-01 if you prefer [2].",
        "Call 020 7946 0958 [2] or write to HELP@example.com [2], from 9:00 to 17:00 [2].",
        "The 2024 policy applies [1].",
        "- You can ask for a refund within 30 days [1].\n- Orders over £90 ship free [2].",
        "1. Ask within 30 days [1].\n2. Wait for the refund [1].",
        "Refunds within 30 days. [1] Free shipping over £90. [2]",  # citation after the full stop
        "I don't know: the available sources don't answer this question.",
        "There are 3 ways to ask, and step 2 is the quickest [1].",  # small numbers are prose
    ],
)
def test_figures_stated_as_the_cited_source_states_them_do_not_flag(text):
    assert flags(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("You can ask for a refund within 14 days [1].", [rules.CONTRADICTED_FIGURE]),
        ("You can ask for a refund within fourteen days [1].", [rules.CONTRADICTED_FIGURE]),
        ("Refunds are paid within 3–5 working days [1].", [rules.CONTRADICTED_FIGURE]),
        ("Refunds are paid within 12 working days [1].", [rules.CONTRADICTED_FIGURE]),
        ("The administration fee is £120 [1].", [rules.CONTRADICTED_FIGURE]),
        ("Annual plans get 20% back [1].", [rules.CONTRADICTED_FIGURE]),
        ("Orders over £9 ship free [2].", [rules.CONTRADICTED_FIGURE]),
        ("This has applied since 1 April 2025 [2].", [rules.CONTRADICTED_FIGURE]),
        ("Lines are open until 6pm [2].", [rules.CONTRADICTED_FIGURE]),
        ("Call 020 7946 0000 [2].", [rules.CONTRADICTED_FIGURE]),
        ("Write to sales@example.com [2].", [rules.CONTRADICTED_FIGURE]),
        ("Refunds are paid within 2 months [1].", [rules.UNSUPPORTED_FIGURE]),
        ("You get €50 back [2].", [rules.CONTRADICTED_FIGURE]),  # another currency, same kind
        ("There are 12 ways to get a refund [1].", [rules.UNSUPPORTED_FIGURE]),
        (
            "Refunds within 14 days [1]. There are 12 ways to get one [1].",
            [rules.CONTRADICTED_FIGURE, rules.UNSUPPORTED_FIGURE],
        ),
    ],
)
def test_a_figure_the_cited_source_states_otherwise_or_not_at_all_flags(text, expected):
    assert flags(text) == expected


def test_a_figure_cited_to_the_wrong_source_is_not_supported_by_the_right_one():
    # "£90" is in source 2, but the sentence cites source 1, whose only amount is £1,200.
    assert flags("Orders over £90 ship free [2].") == []
    assert flags("Orders over £90 ship free [1].") == [rules.CONTRADICTED_FIGURE]
    # The phone number is in source 2 only, and source 1 states no phone number at all.
    assert flags("Call +44 20 7946 0958 [1].") == [rules.UNSUPPORTED_FIGURE]


def test_an_uncited_sentence_is_held_to_the_sources_the_answer_cites():
    # The answer cites only [2]: "30 days" (from source 1) is held to source 2, whose "two weeks"
    # it contradicts; a plain "12" is in neither.
    text = "Orders over £90 ship free [2]. Refunds are possible within 30 days."
    assert flags(text) == [rules.CONTRADICTED_FIGURE]
    assert flags("Orders over £90 ship free [2]. There are 12 ways to get one.") == [rules.UNSUPPORTED_FIGURE]
    # Citing nothing at all, an answer is held to every source it was given.
    assert flags("Refunds are possible within 30 days. Orders over £90 ship free.") == []
    assert flags("Refunds are possible within 60 days.") == [rules.CONTRADICTED_FIGURE]


def test_without_sources_the_figure_rules_do_not_apply():
    assert flags("Refunds are possible within 14 days.", sources=[]) == []


def test_contradicted_figures_are_high_priority_and_can_be_switched_off(settings):
    text = "You can ask for a refund within 14 days [1]."
    config = review_settings()
    found = rules.evaluate(text=text, sources=SOURCES, review_policy="on_flag", config=config.rules)
    assert found == [rules.CONTRADICTED_FIGURE]
    high, low = config.high_priority_reasons, config.low_priority_reasons
    assert rules.priority_for(found, high=high, low=low) == "high"
    assert rules.priority_for([rules.UNSUPPORTED_FIGURE], high=high, low=low) == "normal"
    settings.AI_CORE = {
        **settings.AI_CORE,
        "REVIEW": {**settings.AI_CORE["REVIEW"], "RULES": {rules.CONTRADICTED_FIGURE: False}},
    }
    off = review_settings().rules
    assert rules.evaluate(text=text, sources=SOURCES, review_policy="on_flag", config=off) == []


def test_the_stream_gate_holds_a_contradicted_sentence_but_not_the_sentences_before_it():
    config = rules.RuleConfig()
    before = "You can ask for a refund within 30 days of purchase [1]."
    assert rules.evaluate_partial(text=before, sources=SOURCES, config=config) == []
    held = before + " Refunds are paid within 14 days [1]."
    assert rules.CONTRADICTED_FIGURE in rules.evaluate_partial(text=held, sources=SOURCES, config=config)


@dataclass
class TitledSrc:
    number: int
    text: str
    title: str


def test_a_figure_from_the_source_title_the_model_was_shown_is_supported():
    source = TitledSrc(1, "You can ask for a refund within 30 days of purchase.", "Refund policy 2024")
    assert flags("The 2024 refund policy allows 30 days [1].", sources=[source]) == []
    assert flags("The 2023 refund policy allows 30 days [1].", sources=[source]) == [rules.UNSUPPORTED_FIGURE]
