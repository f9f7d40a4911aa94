"""Strict rendering: a missing variable is an error naming it; values are data, never re-read."""

from __future__ import annotations

import pytest

from ai_core.prompts.render import PromptRenderError, render_template


def test_missing_variables_are_an_error_naming_each_of_them() -> None:
    with pytest.raises(PromptRenderError) as excinfo:
        render_template("{{ question }} about {{ topic }} for {{ audience }}", {"question": "Why?"})
    assert excinfo.value.missing == ["topic", "audience"]
    assert "topic" in str(excinfo.value) and "audience" in str(excinfo.value)


def test_none_counts_as_missing() -> None:
    with pytest.raises(PromptRenderError, match="question"):
        render_template("Q: {{ question }}", {"question": None})


@pytest.mark.parametrize("value", ["{{ secret }}", "$secret", "${secret}", "{secret}", "{{secret}} and $$"])
def test_values_with_braces_or_dollars_are_inserted_verbatim(value: str) -> None:
    rendered = render_template("Q: {{ question }}", {"question": value, "secret": "LEAKED"})
    assert rendered == f"Q: {value}"


def test_whitespace_inside_placeholders_is_optional() -> None:
    assert render_template("{{a}}-{{  a  }}", {"a": "x"}) == "x-x"


def test_a_rendered_prompt_never_keeps_a_placeholder(yaml_spec) -> None:
    spec = yaml_spec("rag_answer")
    rendered = spec.render({"question": "How?", "sources": '<source id="1">Text</source>'})
    assert "{{" not in rendered.system + rendered.user
