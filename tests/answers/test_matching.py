"""The word checks that stop a reused answer when two questions embed alike but ask different things."""

from __future__ import annotations

import pytest

from ai_core.answers.matching import different_question


@pytest.mark.parametrize(
    ("approved", "asked", "why"),
    [
        (
            "Can I get my money back after 20 days on a yearly plan?",
            "... after 40 days on a yearly plan?",
            "number",
        ),
        ("Can I get my money back within thirty days?", "Can I get my money back within 14 days?", "number"),
        ("Can I get my money back on a yearly plan?", "Can I get my money back on a monthly plan?", "period"),
        ("How much is the plan per month?", "How much is the plan per year?", "period"),
        ("Is anyone available on a Saturday?", "Is anyone available on a Sunday?", "day"),
        ("Can we be billed in euros?", "Can we be billed in dollars?", "currency"),
        ("What time does your phone line close?", "What time does your phone line open?", "opposite"),
        ("Can I cancel my subscription?", "Can I pause my subscription?", "opposite"),
        ("How do I convert a string to a number?", "How do I convert a number to a string?", "swapped"),
    ],
)
def test_questions_that_ask_for_another_value_are_different(approved, asked, why):
    assert why in different_question(approved, asked)


@pytest.mark.parametrize(
    ("approved", "asked"),
    [
        (
            "How long does a refund take to reach my card?",
            "how long does it take for a refund to reach my card",
        ),
        (
            "Can I get my money back after 20 days on a yearly plan?",
            "Can I get a refund after twenty days on an annual plan?",
        ),
        (
            "How quickly will someone respond if the whole system goes down?",
            "If the whole system goes down, how quickly will someone respond?",
        ),
        ("Do you use advertising or tracking cookies?", "Do you use any tracking or advertising cookies?"),
        (
            "If I stop my monthly plan halfway, do I get anything back?",
            "If I cancel my monthly plan halfway, do I get anything back?",
        ),
        (
            "Are you open between Christmas and New Year?",
            "Are you open between Christmas and New Year's Day?",
        ),
        ("What time does your phone line close?", "What time does your phone line shut?"),
    ],
)
def test_rewordings_pass(approved, asked):
    assert different_question(approved, asked) == ""
