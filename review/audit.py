"""How review decisions read in Wagtail's audit log (the item's history, Reports > Site history)."""

from __future__ import annotations

from wagtail.log_actions import LogFormatter

from . import assignment, rules, services


class FlagFormatter(LogFormatter):
    label = "Hold an AI output for review"

    def format_message(self, log_entry) -> str:
        reasons = [rules.REASON_LABELS.get(code, code) for code in log_entry.data.get("reasons", [])]
        return f"Held for review: {', '.join(reasons) or 'no reason recorded'}"


class DecisionFormatter(LogFormatter):
    def summary(self, log_entry) -> str:
        return self.message

    def format_message(self, log_entry) -> str:
        note = log_entry.data.get("note")
        return f"{self.summary(log_entry)}: {note}" if note else self.summary(log_entry)

    def format_comment(self, log_entry) -> str:
        return log_entry.data.get("note", "")


class ApproveFormatter(DecisionFormatter):
    label = message = "Approved"


class ApproveWithEditsFormatter(DecisionFormatter):
    label = message = "Approved with edits"

    def summary(self, log_entry) -> str:
        # The diff itself is on the item's inspect screen; the log says how much changed.
        edit = log_entry.data.get("edit")
        if not edit:
            return self.message
        return f"{self.message} ({edit['inserted_words']} word(s) added, {edit['deleted_words']} removed)"


class RejectFormatter(DecisionFormatter):
    label = message = "Rejected"


class EscalateFormatter(LogFormatter):
    label = "Escalate an AI output awaiting review"

    def format_message(self, log_entry) -> str:
        previous = log_entry.data.get("previous_priority", "")
        return f"Escalated: pending too long, priority raised from {previous} to High"


class AssignFormatter(LogFormatter):
    label = "Assign an AI output awaiting review"

    def format_message(self, log_entry) -> str:
        return f"Assigned to {log_entry.data.get('assignee') or 'a reviewer'}"


class UnassignFormatter(LogFormatter):
    label = "Unassign an AI output awaiting review"

    def format_message(self, log_entry) -> str:
        previous = log_entry.data.get("previous")
        return f"Unassigned (was {previous})" if previous else "Unassigned"


FORMATTERS = {
    assignment.ACTION_ASSIGN: AssignFormatter,
    assignment.ACTION_UNASSIGN: UnassignFormatter,
    services.ACTION_FLAG: FlagFormatter,
    services.ACTION_APPROVE: ApproveFormatter,
    services.ACTION_APPROVE_WITH_EDITS: ApproveWithEditsFormatter,
    services.ACTION_REJECT: RejectFormatter,
    services.ACTION_ESCALATE: EscalateFormatter,
}
