"""The "Legal sign-off on AI impact" workflow task: a publish that would change what approved
answers rest on waits for a legal reviewer; any other passes at once.

An administrator adds it to a page workflow (Settings → Workflows; the task type is offered
because it is a concrete ``wagtail.models.Task`` subclass) and picks the groups whose members
may sign off (the "Legal reviewers" group). When a revision reaches the task, ``start`` compares
the blocks cited by *active approved answers* with the same blocks in the revision
(``review.blocks.revision_impact``). Only approved answers hold a publish: they are what visitors
are given without a model call and without a fresh review. Page summaries are regenerated on
publish and outputs awaiting review are already in front of a reviewer, so neither holds it (the
editor's AI tab lists them). A revision that cannot be read is held, not passed.

Wagtail publishes a revision when the workflow's last task is approved, as the approving user: the
legal reviewers group needs publish permission on those pages when this task is the last step
(as for any group approval task). When it passes at once as the last step, the workflow publishes
the revision itself (as the user who moved it on if they may publish, else as no one), since the
editor who submitted it may not hold publish permission. Put a moderation task before it when
every change should be seen by someone.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.models import AbstractGroupApprovalTask

from .blocks import revision_impact

PASSED_COMMENT = "No block cited by an approved answer changes: passed without review."


class AIImpactSignoffTask(AbstractGroupApprovalTask):
    """Group approval that only asks when the revision changes blocks approved answers cite."""

    def start(self, workflow_state, user=None):
        task_state = super().start(workflow_state, user=user)
        page = workflow_state.content_object
        impact = revision_impact(page_id=page.pk, revision_id=task_state.revision_id)
        if not impact.holds:
            # Not ``update`` yet: Wagtail moves the workflow on itself once ``start`` returns a task
            # state that is no longer in progress...
            task_state.approve(user=None, update=False, comment=PASSED_COMMENT)
            if workflow_state.get_next_task() is None:
                # ...except past the last task, where it would publish as ``user``: the editor who
                # submitted, who may lack publish permission (Wagtail would refuse with an error).
                # The workflow publishes: as ``user`` if they may, else as no one.
                may_publish = user is not None and page.permissions_for_user(user).can_publish()
                workflow_state.update(user=user if may_publish else None)
        return task_state

    def get_actions(self, obj, user):
        if user.is_superuser or self._user_in_groups(user):
            return [
                ("reject", _("Request changes"), True),
                ("approve", _("Sign off"), False),
                ("approve", _("Sign off with comment"), True),
            ]
        return []

    def get_template_for_action(self, action):
        # The dialogs (sign off with comment, request changes) show what the revision changes.
        return "review/workflow/impact_action_modal.html"

    @classmethod
    def get_description(cls):
        return _(
            "Holds publishing for the chosen groups (legal reviewers) when the revision changes a "
            "block that approved AI answers cite; passes at once otherwise."
        )

    class Meta:
        verbose_name = _("Legal sign-off on AI impact")
        verbose_name_plural = _("Legal sign-offs on AI impact")
