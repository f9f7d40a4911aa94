"""``AI_CORE["ANSWER_REUSE"]`` plug-ins that go wrong: one loses the race (it finds the approved
answer, then a reviewer retires it before the worker stores the reply, as a concurrent Retire
would), one breaks, one is cut short by the task's soft time limit."""

from ai_core.answers.reuse import approved_answer_match
from ai_core.models import ApprovedAnswer


def match_then_retired(*, request, spec):
    found = approved_answer_match(request=request, spec=spec)
    if found is not None:
        ApprovedAnswer.objects.filter(pk=found.answer_id).update(status=ApprovedAnswer.Status.RETIRED)
    return found


def broken_lookup(*, request, spec):
    raise RuntimeError("the approved-answer lookup broke")


def lookup_cut_by_the_soft_time_limit(*, request, spec):
    from celery.exceptions import SoftTimeLimitExceeded

    raise SoftTimeLimitExceeded()  # as Celery raises it in a task that ran out of time mid-lookup
