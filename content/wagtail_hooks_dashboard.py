"""Wagtail hooks for the AI usage dashboard; only registration here (code in ``ai_admin/dashboard``).

Imported by ``content/wagtail_hooks.py`` so the hooks register when Wagtail loads that module.
"""

from wagtail import hooks

from content.ai_admin.dashboard.viewsets import AIDashboardViewSet


@hooks.register("register_admin_viewset")
def register_ai_dashboard() -> AIDashboardViewSet:
    return AIDashboardViewSet()
