"""The prompt editing form: friendlier widgets for list and golden-case fields.

Validation itself is ``PromptTemplate.clean()``, i.e. ``PromptSpec.from_dict``, the validator the
YAML files go through, so the admin and code review can never disagree about what is valid.
"""

from __future__ import annotations

from typing import Any

import yaml
from django import forms
from wagtail.admin.forms import WagtailAdminModelForm


class NameListField(forms.CharField):
    """A list of names typed as ``question, sources``."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [name.strip() for name in text.replace("\n", ",").split(",") if name.strip()]


class PromptTextField(forms.CharField):
    """Prompt text kept as typed: no stripping (a trailing newline is part of a YAML block), and
    browser line endings normalised, so saving an untouched prompt changes nothing."""

    widget = forms.Textarea(attrs={"rows": 10, "spellcheck": "false"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strip=False, **kwargs)

    def to_python(self, value: Any) -> str:
        return super().to_python(value).replace("\r\n", "\n").replace("\r", "\n")


class YAMLListField(forms.CharField):
    """Golden cases edited as YAML, the same notation as ``prompts/*.yaml``."""

    widget = forms.Textarea(attrs={"rows": 14, "spellcheck": "false"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return (
                yaml.safe_dump(list(value), sort_keys=False, allow_unicode=True, width=1000) if value else ""
            )
        return value

    def to_python(self, value: Any) -> list:
        text = super().to_python(value)
        if not text.strip():
            return []
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise forms.ValidationError(f"Not valid YAML: {err}") from err
        if not isinstance(data, list):
            raise forms.ValidationError("Write a YAML list of cases, each starting with '- name: ...'.")
        return data

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or [])
        except forms.ValidationError:
            return True


_LIST_HELP = "Comma-separated names."


class PromptTemplateForm(WagtailAdminModelForm):
    system = PromptTextField(help_text="Instructions to the model. Variables as {{ name }}.")
    user = PromptTextField(help_text="The user message. Retrieved text goes in as {{ sources }}.")
    variables = NameListField(required=False, help_text=f"{_LIST_HELP} Filled from the caller's payload.")
    system_variables = NameListField(
        required=False, help_text=f"{_LIST_HELP} Filled by the pipeline, e.g. sources, page_title."
    )
    labels = NameListField(required=False, help_text=f"{_LIST_HELP} Required for classify prompts.")
    golden = YAMLListField(
        required=False,
        help_text=(
            "Golden cases as YAML: name, inputs, expect (contains, not_contains, regex, json_schema, "
            "max_length, must_cite, cites_only_sources, prompt_source_blocks), optional providers. "
            "Inputs may include 'sources', a list of texts. "
            "Publishing runs these cases first; the prompt goes live only if they pass."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "key" in self.fields:
            # Code, YAML files and recorded outputs refer to the key; renaming would orphan them.
            self.fields["key"].disabled = True
            self.fields["key"].help_text = "Fixed once created: code and YAML refer to it."
