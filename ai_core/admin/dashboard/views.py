"""The dashboard view: parse the range, check the permission, render or export. No aggregation here."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .export import csv_response, tables
from .forms import DashboardRangeForm
from .report import TOP_ROWS, dashboard_report

PERMISSION = "ai_core.view_ai_dashboard"
VIEWERS_GROUP = "AI dashboard viewers"  # created by ai_core migration 0005
QUICK_RANGES = (7, 30, 90)


def can_view_dashboard(user) -> bool:
    return user.is_active and user.has_perm(PERMISSION)


class DashboardView(WagtailAdminTemplateMixin, TemplateView):
    page_title = "AI usage and quality"
    header_icon = "table"
    template_name = "ai_core/admin/dashboard.html"
    url_name = "ai_dashboard:index"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def dispatch(self, request, *args, **kwargs):
        # Costs per person and page are management information. A real 403 that says what is
        # missing, rather than Wagtail's redirect to the dashboard, which would hide why.
        if not can_view_dashboard(request.user):
            return TemplateResponse(
                request,
                "ai_core/admin/dashboard_forbidden.html",
                {**super().get_context_data(), "group": VIEWERS_GROUP},
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs) -> HttpResponse:
        self.form = DashboardRangeForm(request.GET, today=timezone.localdate())
        export = request.GET.get("export")
        if export is None:
            return super().get(request, *args, **kwargs)
        if export not in tables():
            raise Http404("No such table to export.")
        if not self.form.is_valid():
            errors = "; ".join(str(e) for field_errors in self.form.errors.values() for e in field_errors)
            return HttpResponseBadRequest(f"Invalid date range: {errors}", content_type="text/plain")
        return csv_response(table=export, **self._range())

    def _range(self) -> dict:
        return {"start": self.form.cleaned_data["start"], "end": self.form.cleaned_data["end"]}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            form=self.form, top_rows=TOP_ROWS, report=None, time_zone=timezone.get_current_timezone_name()
        )
        if self.form.is_valid():
            span = self._range()
            base = reverse(self.url_name)
            context.update(
                report=dashboard_report(**span),
                exports={name: f"{base}?{urlencode({**span, 'export': name})}" for name in tables()},
            )
        context["quick_ranges"] = self._quick_ranges()
        return context

    def _quick_ranges(self) -> list[tuple[str, str]]:
        today, base = timezone.localdate(), reverse(self.url_name)
        return [
            (
                f"Last {days} days",
                f"{base}?{urlencode({'start': today - dt.timedelta(days=days - 1), 'end': today})}",
            )
            for days in QUICK_RANGES
        ]
