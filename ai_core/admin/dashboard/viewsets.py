"""The dashboard's place in the admin: a URL under /admin/ai/dashboard/ and an "AI" menu entry."""

from __future__ import annotations

from django.urls import path
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet

from .views import DashboardView, can_view_dashboard


class DashboardMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return can_view_dashboard(request.user)


class AIDashboardViewSet(ViewSet):
    name = "ai_dashboard"
    url_prefix = "ai/dashboard"
    icon = "table"
    menu_label = "Usage dashboard"
    menu_order = 0  # first in the AI menu: where someone asking "how is the AI doing?" starts
    # Joins the "AI" group's submenu (ai_core.admin.viewsets.AIViewSetGroup.submenu_hook).
    menu_hook = "register_ai_menu_item"
    menu_item_class = DashboardMenuItem

    def get_urlpatterns(self):
        return [path("", DashboardView.as_view(), name="index")]
