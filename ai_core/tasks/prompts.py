"""Celery task for the prompt publish gate: run a revision's golden cases, publish on success."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from ai_core import conf


@shared_task(
    name="ai_core.run_prompt_eval",
    ignore_result=True,
    soft_time_limit=conf.setting("PROMPT_EVAL_SOFT_TIME_LIMIT"),
    time_limit=conf.setting("PROMPT_EVAL_TIME_LIMIT"),
)
def run_prompt_eval(run_id: int) -> None:
    from ai_core.services.prompt_evals import prompt_eval_execute, prompt_eval_fail

    try:
        prompt_eval_execute(run_id=run_id)
    except SoftTimeLimitExceeded:
        prompt_eval_fail(
            run_id=run_id, note="The golden cases took too long; try again or check the provider."
        )
    except Exception as err:
        prompt_eval_fail(run_id=run_id, note=f"The golden run crashed: {err!r}")
        raise
