"""System checks for ai_core: a broken prompt file must stop ``manage.py check`` (and deploys).

``ai_core.E001`` the prompt directory is missing, ``ai_core.E002`` a file is not valid YAML,
``ai_core.E003`` a field is invalid (the message names file and field), ``ai_core.E004`` the
``PROMPT_SOURCE`` setting cannot be imported, ``ai_core.E005`` ``AI_CORE["STREAMS"]`` is invalid.
"""

from __future__ import annotations

from django.core.checks import CheckMessage, Error
from django.utils.module_loading import import_string

from ai_core import conf
from ai_core.prompts.loader import collect_prompt_errors


def check_prompt_files(app_configs=None, **kwargs) -> list[CheckMessage]:
    directory = conf.prompts_dir()
    if not directory.is_dir():
        return [
            Error(
                f"AI_CORE['PROMPTS_DIR'] is not a directory: {directory}",
                hint="Point it at the folder holding the prompt YAML files.",
                id="ai_core.E001",
            )
        ]
    messages: list[CheckMessage] = []
    for err in collect_prompt_errors(directory):
        if err.field_name:
            messages.append(
                Error(str(err), hint=f"Fix field '{err.field_name}' in {err.source}.", id="ai_core.E003")
            )
        else:
            messages.append(Error(str(err), hint=f"Fix {err.source or directory}.", id="ai_core.E002"))
    return messages


def check_prompt_source(app_configs=None, **kwargs) -> list[CheckMessage]:
    path = conf.setting_or_none("PROMPT_SOURCE")
    if not path:
        return []
    try:
        source = import_string(path)
    except ImportError as err:
        return [Error(f"AI_CORE['PROMPT_SOURCE'] cannot be imported: {err}", id="ai_core.E004")]
    if not callable(source):
        return [Error(f"AI_CORE['PROMPT_SOURCE'] ({path}) is not callable.", id="ai_core.E004")]
    return []


def check_stream_settings(app_configs=None, **kwargs) -> list[CheckMessage]:
    try:
        conf.stream_settings()
    except conf.InvalidAICoreSettingError as err:
        return [
            Error(str(err), hint="See AI_CORE['STREAMS'] in site_config/settings/ai.py.", id="ai_core.E005")
        ]
    return []
