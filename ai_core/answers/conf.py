"""``AI_CORE["APPROVED_ANSWERS"]``, read through one typed accessor and checked at start-up
(``ai_core.E007``)."""

from __future__ import annotations

from dataclasses import dataclass

from ai_core import conf


class InvalidApprovedAnswerSettingError(conf.InvalidAICoreSettingError):
    pass


@dataclass(kw_only=True, frozen=True)
class ApprovedAnswerSettings:
    # Off: approvals are still recorded (the admin lists them), nothing is served from them.
    reuse: bool = True
    # Prompt keys whose approved outputs answer later questions (a visitor question in ``payload``).
    prompts: tuple[str, ...] = ("rag_answer",)
    # Cosine similarity of the question embeddings (local MiniLM) from which an approved answer is
    # served. Tuned for precision on tests/data/paraphrase_pairs.json (docs/BENCHMARKS.md).
    min_similarity: float = 0.9
    # Nearest approved questions examined per question (the first whose sources stand is served).
    candidates: int = 5


def approved_answer_settings() -> ApprovedAnswerSettings:
    raw = conf.setting_or_none("APPROVED_ANSWERS")
    if raw is None:
        return ApprovedAnswerSettings()
    if not isinstance(raw, dict):
        raise InvalidApprovedAnswerSettingError("AI_CORE['APPROVED_ANSWERS'] must be a dict.")
    defaults = ApprovedAnswerSettings()
    reuse = raw.get("REUSE", defaults.reuse)
    prompts = raw.get("PROMPTS", list(defaults.prompts))
    similarity = raw.get("MIN_SIMILARITY", defaults.min_similarity)
    candidates = raw.get("CANDIDATES", defaults.candidates)
    if not isinstance(reuse, bool):
        raise InvalidApprovedAnswerSettingError("AI_CORE['APPROVED_ANSWERS']['REUSE'] must be True or False.")
    if not isinstance(prompts, list | tuple) or not all(isinstance(p, str) and p for p in prompts):
        raise InvalidApprovedAnswerSettingError(
            "AI_CORE['APPROVED_ANSWERS']['PROMPTS'] must be a list of prompt keys."
        )
    if isinstance(similarity, bool) or not isinstance(similarity, int | float) or not 0 < similarity <= 1:
        raise InvalidApprovedAnswerSettingError(
            f"AI_CORE['APPROVED_ANSWERS']['MIN_SIMILARITY'] must be a number in (0, 1], not {similarity!r}."
        )
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise InvalidApprovedAnswerSettingError(
            f"AI_CORE['APPROVED_ANSWERS']['CANDIDATES'] must be a positive integer, not {candidates!r}."
        )
    return ApprovedAnswerSettings(
        reuse=reuse, prompts=tuple(prompts), min_similarity=float(similarity), candidates=candidates
    )


def check_approved_answer_settings(app_configs=None, **kwargs):
    from django.core.checks import Error

    try:
        approved_answer_settings()
    except InvalidApprovedAnswerSettingError as err:
        return [Error(str(err), hint="See site_config/settings/ai.py.", id="ai_core.E007")]
    return []
