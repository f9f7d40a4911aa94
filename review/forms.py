"""Decision forms. Notes go to the audit log and the item, never to visitors."""

from __future__ import annotations

from django import forms

from .models import ReviewItem

NOTE_HELP = "Kept with the item and in its history; never shown to visitors."


class ApproveForm(forms.Form):
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=NOTE_HELP)


class ApproveWithEditsForm(forms.Form):
    edited_text = forms.CharField(
        label="Text visitors will see",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Keep the [n] citation markers that still apply. The model's original text is kept.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=NOTE_HELP)


class RejectForm(forms.Form):
    note = forms.CharField(
        label="Why is it rejected?",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required. " + NOTE_HELP + " Visitors only see a neutral message.",
    )


class BulkDecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    id = forms.ModelMultipleChoiceField(
        queryset=ReviewItem.objects.filter(status=ReviewItem.Status.PENDING).select_related("ai_request"),
        error_messages={"required": "Select at least one pending item."},
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=NOTE_HELP)

    def clean(self):
        data = super().clean()
        if data.get("action") == "reject" and not (data.get("note") or "").strip():
            self.add_error("note", "A note is required to reject.")
        return data


class AssignForm(forms.Form):
    """``assignee``: "me", "" (nobody) or a reviewer's primary key; cleaned to a user or None."""

    assignee = forms.ChoiceField(label="Assign to", required=False)

    def __init__(self, *args, user, **kwargs):
        from .assignment import review_assignable_users, reviewer_label

        super().__init__(*args, **kwargs)
        self.user = user
        self.reviewers = {str(u.pk): u for u in review_assignable_users()}
        self.fields["assignee"].choices = [
            ("", "Nobody (unassigned)"),
            ("me", "Me"),
            *((pk, reviewer_label(u)) for pk, u in self.reviewers.items() if u.pk != user.pk),
        ]

    @classmethod
    def for_item(cls, item: ReviewItem, *, user, **kwargs) -> AssignForm:
        current = "me" if item.assignee_id == user.pk else str(item.assignee_id or "")
        return cls(user=user, initial={"assignee": current}, **kwargs)

    def clean_assignee(self):
        value = self.cleaned_data["assignee"]
        if value == "me":
            return self.user
        return self.reviewers[value] if value else None


class BulkAssignForm(AssignForm):
    """Several pending items to one reviewer (or nobody), from the queue's checkboxes."""

    id = forms.ModelMultipleChoiceField(
        queryset=ReviewItem.objects.filter(status=ReviewItem.Status.PENDING).select_related("ai_request"),
        error_messages={"required": "Select at least one pending item."},
    )
