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
        widget=forms.Textarea(attrs={"rows": 14}),
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
