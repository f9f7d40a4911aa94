"""Wagtail registrations of the content app. Registration only: the code is in ``content/admin/``.

The page-side admin of the knowledge index and summaries: a page's index status with "Re-index"
(header and listing buttons, bulk action) and "Regenerate summary"; a library document's index
status on its edit view with "Re-index", and a bulk "Re-index" on the document listing. ai_core's
own screens (the "AI" menu) are registered by ``ai_core/wagtail_hooks.py``.
"""

from wagtail import hooks

from content.admin.documents import ReindexDocumentsBulkAction
from content.admin.documents import admin_urls as document_admin_urls
from content.admin.indexing import ReindexBulkAction, header_buttons, listing_buttons
from content.admin.indexing import admin_urls as index_admin_urls
from content.admin.page_panel import admin_urls as summary_admin_urls
from content.impact import page_block_texts

hooks.register("register_admin_urls", index_admin_urls)
hooks.register("register_page_header_buttons", header_buttons)
hooks.register("register_page_listing_buttons", listing_buttons)
hooks.register("register_bulk_action", ReindexBulkAction)
hooks.register("register_admin_urls", summary_admin_urls)
hooks.register("register_admin_urls", document_admin_urls)
hooks.register("register_bulk_action", ReindexDocumentsBulkAction)
# The text of a page revision's blocks, for the review app's change-impact checks (review/impact.py).
hooks.register("ai_page_block_texts", page_block_texts)
