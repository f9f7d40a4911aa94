"""Typed access to ``AI_CORE["REVIEW"]``: the only place in the review app that reads settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ai_core import conf as ai_conf
from ai_core.conf import InvalidAICoreSettingError

from . import rules


class InvalidReviewSettingError(InvalidAICoreSettingError):
    pass


@dataclass(kw_only=True, frozen=True)
class ReviewSettings:
    rules: rules.RuleConfig
    high_priority_reasons: frozenset[str]
    low_priority_reasons: frozenset[str]
    email_batch_seconds: int
    escalate_after: timedelta
    editors_can_view: bool


DEFAULTS: dict[str, Any] = {
    "RULES": dict.fromkeys(rules.REASON_LABELS, True),
    "MIN_SENTENCE_SUPPORT": 0.5,
    "MAX_UNSUPPORTED_SHARE": 0.0,
    "MIN_SENTENCE_TOKENS": 4,
    "MAX_OUTPUT_CHARS": 6000,
    "REFUSAL_PHRASES": list(rules.DEFAULT_REFUSAL_PHRASES),
    "GROUNDING_EXEMPT_PHRASES": list(rules.DEFAULT_GROUNDING_EXEMPT_PHRASES),
    "HIGH_PRIORITY_REASONS": [rules.HIGH_STAKES, rules.PERSONAL_DATA, rules.CONTRADICTED_FIGURE],
    "LOW_PRIORITY_REASONS": [rules.EMPTY, rules.REFUSAL],
    "EMAIL_BATCH_SECONDS": 300,
    "ESCALATE_AFTER_MINUTES": 24 * 60,
    "EDITORS_CAN_VIEW": True,
}


def _codes(raw: dict[str, Any], name: str) -> frozenset[str]:
    unknown = set(raw[name]) - rules.ALL_REASONS
    if unknown:
        raise InvalidReviewSettingError(
            f"AI_CORE['REVIEW'][{name!r}] names unknown reason codes {sorted(unknown)}; "
            f"known: {sorted(rules.ALL_REASONS)}."
        )
    return frozenset(raw[name])


def review_settings() -> ReviewSettings:
    """Read and validate on every call: cheap, and ``override_settings`` in tests just works."""
    raw = {**DEFAULTS, **(ai_conf.setting_or_none("REVIEW") or {})}
    switches = {**DEFAULTS["RULES"], **raw["RULES"]}
    unknown = set(switches) - rules.ALL_REASONS
    if unknown:
        raise InvalidReviewSettingError(
            f"AI_CORE['REVIEW']['RULES'] has unknown rules {sorted(unknown)}; known: {sorted(rules.ALL_REASONS)}."
        )
    try:
        rule_config = rules.RuleConfig(
            enabled=frozenset(code for code, on in switches.items() if on),
            refusal_phrases=tuple(str(p) for p in raw["REFUSAL_PHRASES"]),
            grounding_exempt_phrases=tuple(str(p) for p in raw["GROUNDING_EXEMPT_PHRASES"]),
            min_sentence_support=float(raw["MIN_SENTENCE_SUPPORT"]),
            max_unsupported_share=float(raw["MAX_UNSUPPORTED_SHARE"]),
            min_sentence_tokens=int(raw["MIN_SENTENCE_TOKENS"]),
            max_output_chars=int(raw["MAX_OUTPUT_CHARS"]),
        )
        batch = int(raw["EMAIL_BATCH_SECONDS"])
        escalate = timedelta(minutes=float(raw["ESCALATE_AFTER_MINUTES"]))
    except (TypeError, ValueError) as err:
        raise InvalidReviewSettingError(f"AI_CORE['REVIEW'] has a value of the wrong type: {err}") from err
    if not 0 <= rule_config.min_sentence_support <= 1 or not 0 <= rule_config.max_unsupported_share <= 1:
        raise InvalidReviewSettingError(
            "AI_CORE['REVIEW']['MIN_SENTENCE_SUPPORT'] and ['MAX_UNSUPPORTED_SHARE'] are shares between 0 and 1."
        )
    if batch < 0 or escalate <= timedelta(0):
        raise InvalidReviewSettingError(
            "AI_CORE['REVIEW']['EMAIL_BATCH_SECONDS'] must be >= 0 and ['ESCALATE_AFTER_MINUTES'] > 0."
        )
    return ReviewSettings(
        rules=rule_config,
        high_priority_reasons=_codes(raw, "HIGH_PRIORITY_REASONS"),
        low_priority_reasons=_codes(raw, "LOW_PRIORITY_REASONS"),
        email_batch_seconds=batch,
        escalate_after=escalate,
        editors_can_view=bool(raw["EDITORS_CAN_VIEW"]),
    )
