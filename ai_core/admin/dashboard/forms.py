"""The dashboard's date range, read from the query string."""

from __future__ import annotations

import datetime as dt

from django import forms
from wagtail.admin.widgets import AdminDateInput

from ai_core.selectors import MAX_RANGE_DAYS

DEFAULT_DAYS = 7


class DashboardRangeForm(forms.Form):
    """Both dates included. Empty fields mean "the last seven days", so a bare URL works."""

    start = forms.DateField(label="From", required=False, widget=AdminDateInput)
    end = forms.DateField(label="To", required=False, widget=AdminDateInput)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        end = cleaned.get("end") or self.today
        start = cleaned.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if end > self.today:
            # Nothing is logged in the future; refusing it also keeps date arithmetic in range.
            self.add_error("end", "The end date cannot be in the future.")
        elif start > end:
            self.add_error("start", "The start date must be on or before the end date.")
        elif (end - start).days + 1 > MAX_RANGE_DAYS:
            self.add_error(None, f"Choose a range of at most {MAX_RANGE_DAYS} days.")
        cleaned.update(start=start, end=end)
        return cleaned
