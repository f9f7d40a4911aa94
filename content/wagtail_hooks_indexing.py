"""Wagtail hooks for the knowledge index admin; only registration here (code in ``ai_admin/indexing``).

Imported by ``content/wagtail_hooks.py`` so the hooks register when Wagtail loads that module.
"""

from wagtail import hooks

from content.ai_admin.indexing import ReindexBulkAction, admin_urls, header_buttons, listing_buttons

hooks.register("register_admin_urls", admin_urls)
hooks.register("register_page_header_buttons", header_buttons)
hooks.register("register_page_listing_buttons", listing_buttons)
hooks.register("register_bulk_action", ReindexBulkAction)

from content.ai_admin.page_panel import admin_urls as summary_admin_urls  # noqa: E402

hooks.register("register_admin_urls", summary_admin_urls)
