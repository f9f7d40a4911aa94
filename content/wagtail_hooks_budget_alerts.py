"""Wagtail hooks for budget alerts; only registration here (code in ``ai_admin/budget_alerts``).

Imported by ``content/wagtail_hooks.py`` so the hooks register when Wagtail loads that module.
"""

from wagtail import hooks

from content.ai_admin.budget_alerts import alert_permissions, banner_script, budget_alerts_viewset

hooks.register("register_admin_viewset", lambda: budget_alerts_viewset)
hooks.register("insert_global_admin_js", banner_script)
hooks.register("register_permissions", alert_permissions)
