"""An ``AI_CORE["ANSWER_REUSE"]`` plug-in that loses the race: it finds the approved answer, then a
reviewer retires it before the worker stores the reply (as a concurrent Retire would)."""

from ai_core.answers.reuse import approved_answer_match
from ai_core.models import ApprovedAnswer


def match_then_retired(*, request, spec):
    found = approved_answer_match(request=request, spec=spec)
    if found is not None:
        ApprovedAnswer.objects.filter(pk=found.answer_id).update(status=ApprovedAnswer.Status.RETIRED)
    return found
