"""Wagtail registrations of ai_core's admin screens. Registration only: the code is in ``ai_core/admin/``.

The order is the menu's: the "AI" group first (prompts, routing, budgets), then the entries that
join it through its ``register_ai_menu_item`` hook (budget alerts, the usage dashboard). Other apps
add sections to the dashboard with the ``register_ai_dashboard_section`` hook
(``ai_core/admin/dashboard/sections.py``).
"""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from ai_core.admin.budget_alerts import alert_permissions, banner_script, budget_alerts_viewset
from ai_core.admin.dashboard.viewsets import AIDashboardViewSet
from ai_core.admin.viewsets import AIViewSetGroup

register_snippet(AIViewSetGroup)

# Budget alerts: the banner on every admin page, AI → Budget alerts, the "manage" permission.
hooks.register("register_admin_viewset", lambda: budget_alerts_viewset)
hooks.register("insert_global_admin_js", banner_script)
hooks.register("register_permissions", alert_permissions)


@hooks.register("register_admin_viewset")
def register_ai_dashboard() -> AIDashboardViewSet:
    """AI → Usage dashboard: costs, latency, quality, CSV."""
    return AIDashboardViewSet()
