"""ai_core's Celery tasks, one module per concern. Celery's autodiscovery imports ``ai_core.tasks``
only, so this package imports every task module; the ``name=`` strings (``ai_core.*``) are what
queued messages and the beat schedule refer to, and stay fixed whatever module holds the task.
ai_core's own code imports the submodule (``ai_core.tasks.requests``), not this package."""

from ai_core.answers.tasks import embed_approved_answer

from .maintenance import purge_expired_requests, recover_stalled_requests
from .prompts import run_prompt_eval
from .requests import heartbeat, process_ai_request, process_system_request

__all__ = [
    "embed_approved_answer",
    "heartbeat",
    "process_ai_request",
    "process_system_request",
    "purge_expired_requests",
    "recover_stalled_requests",
    "run_prompt_eval",
]
