"""Budget alerts in the Wagtail admin: the banner on every admin page, acknowledging, and a listing
under AI → Budget alerts. The alert logic lives in ``ai_core.budgets.alerts``.

The banner reaches every admin page through Wagtail's documented ``insert_global_admin_js`` hook.
That hook has no request, so it only loads a small script; the script fetches the banner from
``banner/``, which checks the permission and answers 204 (nothing to show) to everyone else.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView
from wagtail.admin.menu import MenuItem
from wagtail.admin.staticfiles import versioned_static
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet

from ai_core.budgets.alerts import budget_alerts_acknowledge
from ai_core.budgets.conf import alert_settings
from ai_core.budgets.selectors import (
    budget_alerts_open,
    budget_alerts_recent,
    user_can_manage_budget_alerts,
)
from ai_core.budgets.services import today

LISTING_DAYS = 30


class _ManagersOnlyMixin:
    """Wagtail's admin URLs already require a login with admin access; this narrows to people
    who may manage budget alerts (superusers, or holders of ``budgets.change_budgetalert``).
    Others are sent to the dashboard with Wagtail's "no permission" message, like its own views."""

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        if not user_can_manage_budget_alerts(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class BudgetAlertIndexView(_ManagersOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    page_title = "Budget alerts"
    header_icon = "warning"
    template_name = "ai_core/admin/budget_alerts/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        config = alert_settings()
        context.update(
            alerts=budget_alerts_recent(since=today() - dt.timedelta(days=LISTING_DAYS - 1)),
            days=LISTING_DAYS,
            today=today(),
            prompt_key_thresholds=sorted(config.prompt_key_thresholds.items()),
            prompt_key_default=config.prompt_key_default,
            user_threshold=config.user_threshold,
            acknowledge_url=reverse("ai_budget_alerts:acknowledge"),
        )
        return context


@method_decorator(never_cache, name="dispatch")
class BudgetAlertBannerView(View):
    """The banner fragment for the current admin page: empty (204) unless there is something this
    person should act on."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not user_can_manage_budget_alerts(request.user):
            return HttpResponse(status=204)
        alerts = list(budget_alerts_open(day=today()))
        if not alerts:
            return HttpResponse(status=204)
        return render(
            request,
            "ai_core/admin/budget_alerts/banner.html",
            {
                "alerts": alerts,
                "acknowledge_url": reverse("ai_budget_alerts:acknowledge"),
                "index_url": reverse("ai_budget_alerts:index"),
            },
        )


class BudgetAlertAcknowledgeView(View):
    """Acknowledges the alerts the banner showed (by id, so one raised meanwhile stays visible)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        # isascii(): "²".isdigit() is True too, and int("²") raises (a 500).
        ids = [int(value) for value in request.POST.getlist("alert") if value.isascii() and value.isdigit()]
        try:
            count = budget_alerts_acknowledge(alert_ids=ids, user=request.user)
        except PermissionDenied as err:
            # A plain 403, not Wagtail's redirect to the dashboard: nothing changed, and a form
            # POST that silently bounced would look as if it had worked.
            return HttpResponseForbidden(str(err))
        if count:
            messages.success(request, f"Acknowledged {count} budget alert{'s' if count != 1 else ''}.")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("ai_budget_alerts:index")
        return HttpResponseRedirect(target)


class BudgetAlertsMenuItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return user_can_manage_budget_alerts(request.user)


class BudgetAlertsViewSet(ViewSet):
    """Registered through ``register_admin_viewset``; its menu item joins the "AI" group."""

    name = "ai_budget_alerts"
    url_prefix = "ai/budget-alerts"
    icon = "warning"
    menu_label = "Budget alerts"
    menu_hook = "register_ai_menu_item"
    menu_item_class = BudgetAlertsMenuItem

    def get_urlpatterns(self):
        return [
            path("", BudgetAlertIndexView.as_view(), name="index"),
            path("banner/", BudgetAlertBannerView.as_view(), name="banner"),
            path("acknowledge/", BudgetAlertAcknowledgeView.as_view(), name="acknowledge"),
        ]


budget_alerts_viewset = BudgetAlertsViewSet()


def banner_script() -> str:
    """``insert_global_admin_js``: load the banner script on every admin page."""
    return format_html(
        '<script src="{}" data-banner-url="{}"></script>',
        versioned_static("ai_core/admin/budget-alerts.js"),
        reverse("ai_budget_alerts:banner"),
    )


def alert_permissions():
    """``register_permissions``: lets admins grant "manage budget alerts" to a group."""
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="budgets", codename="change_budgetalert")
