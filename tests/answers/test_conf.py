"""``AI_CORE["APPROVED_ANSWERS"]`` is validated at start-up (ai_core.E007), naming the setting."""

from __future__ import annotations

import pytest

from ai_core.answers.conf import approved_answer_settings, check_approved_answer_settings


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"MIN_SIMILARITY": 1.5}, "MIN_SIMILARITY"),
        ({"MIN_SIMILARITY": "high"}, "MIN_SIMILARITY"),
        ({"CANDIDATES": 0}, "CANDIDATES"),
        ({"PROMPTS": "rag_answer"}, "PROMPTS"),
        ({"REUSE": "yes"}, "REUSE"),
    ],
)
def test_a_bad_setting_is_a_system_check_error_naming_it(settings, value, named):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "APPROVED_ANSWERS": {**settings.AI_CORE["APPROVED_ANSWERS"], **value},
    }
    (error,) = check_approved_answer_settings()
    assert error.id == "ai_core.E007" and named in error.msg


def test_the_configured_threshold_is_read(settings):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "APPROVED_ANSWERS": {"MIN_SIMILARITY": 0.93, "PROMPTS": ["rag_answer"]},
    }
    config = approved_answer_settings()
    assert (config.min_similarity, config.prompts, config.reuse) == (0.93, ("rag_answer",), True)
    assert check_approved_answer_settings() == []
