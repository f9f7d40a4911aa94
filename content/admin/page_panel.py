"""The "AI" tab of the article editor: index status, the live summary and what it cost, what AI
output depends on the page (approved answers, summaries, outputs awaiting review, and the blocks
each cites), and the "Re-index" / "Regenerate summary" actions (which only enqueue work). ``ContentConfig.ready()`` sets
``article_edit_handler()`` as ``ArticlePage.edit_handler``, so the model imports no admin code."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from wagtail.admin.panels import ObjectList, Panel, TabbedInterface
from wagtail.models import Page

from ai_core.models import LLMUsageLog
from ai_core.rag.api import output_is_stale, page_index_status
from ai_core.rag.models import KnowledgeChunk
from content.admin.indexing import STATUS_URL_NAME
from content.impact import page_dependents
from content.models import ArticlePage
from content.services import page_summary_regenerate_enqueue
from content.summaries import page_summary_current

REGENERATE_URL_NAME = "content_page_regenerate_summary"


class AIStatusPanel(Panel):
    class BoundPanel(Panel.BoundPanel):
        template_name = "content/admin/page_ai_status.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            page = self.instance
            if not page or not page.pk:
                context["unsaved"] = True
                return context
            summary = page_summary_current(page) if page.live else None
            ai_request = summary.ai_request if summary else None
            cost = None
            cited_blocks: list[dict] = []
            if ai_request is not None:
                cost = LLMUsageLog.objects.filter(request=ai_request).aggregate(total=Sum("cost_usd"))[
                    "total"
                ]
                chunk_ids = [int(c) for c in ai_request.cited_chunk_ids if str(c).isdigit()]
                chunks = KnowledgeChunk.objects.filter(pk__in=chunk_ids).values(
                    "pk", "block_ids", "heading_path"
                )
                cited_blocks = [
                    {"number": n, "heading": " › ".join(c["heading_path"] or []) or "(top of page)",
                     "block_id": (c["block_ids"] or [""])[0]}
                    for n, c in enumerate(chunks, start=1)
                ]  # fmt: skip
            can_publish = page.permissions_for_user(self.request.user).can_publish()
            context.update(
                page=page,
                index=page_index_status(page_id=page.pk),
                summary=summary,
                ai_request=ai_request,
                stale=bool(ai_request and output_is_stale(request_id=ai_request.pk)),
                cost=cost,
                cited_blocks=cited_blocks,
                can_act=can_publish and page.live,
                reindex_url=reverse(STATUS_URL_NAME, args=[page.pk]),
                regenerate_url=reverse(REGENERATE_URL_NAME, args=[page.pk]),
                edit_url=reverse("wagtailadmin_pages:edit", args=[page.pk]),
                dependents=page_dependents(page=page, user=self.request.user),
            )
            return context


def article_edit_handler() -> TabbedInterface:
    """The article editor's tabs: Wagtail's three, then "AI". Set as ``ArticlePage.edit_handler``
    in ``ContentConfig.ready()``; Wagtail binds it to the model."""
    return TabbedInterface(
        [
            ObjectList(ArticlePage.content_panels, heading="Content"),
            ObjectList(ArticlePage.promote_panels, heading="Promote"),
            ObjectList(ArticlePage.settings_panels, heading="Settings", classname="settings"),
            ObjectList([AIStatusPanel()], heading="AI", classname="ai"),
        ]
    )


@require_POST
def regenerate_summary_view(request, page_id: int):
    """Queue a fresh summary of the live revision. Publishers only: it spends from the site budget."""
    page = get_object_or_404(Page, pk=page_id)
    if not page.permissions_for_user(request.user).can_publish():
        raise PermissionDenied
    page_summary_regenerate_enqueue(page_id=page.pk)
    messages.success(request, _("A new summary of '%(title)s' has been queued.") % {"title": page.title})
    return redirect(reverse("wagtailadmin_pages:edit", args=[page.pk]) + "#tab-ai")


def admin_urls() -> list:
    return [
        path("content/summary/<int:page_id>/regenerate/", regenerate_summary_view, name=REGENERATE_URL_NAME)
    ]
