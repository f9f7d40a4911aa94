"""Knowledge-index admin: a page's index status with a "Re-index" action, and a bulk "Re-index".

Both actions only queue ``content.index_page`` (after commit) and return at once; the work runs in
a worker. Registered by ``content/wagtail_hooks.py``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods
from wagtail.admin.views.pages.bulk_actions.page_bulk_action import PageBulkAction
from wagtail.admin.widgets.button import Button
from wagtail.models import Page

from ai_core.rag.api import PageIndexStatus, page_index_status
from content.indexing import INDEXED_MODELS, indexed_descendant_ids
from content.services import pages_index_enqueue

STATUS_URL_NAME = "content_page_index_status"


def _is_indexed_type(page: Page) -> bool:
    return issubclass(page.specific_class or Page, INDEXED_MODELS)


def status_summary(status: PageIndexStatus | None) -> str:
    """One line for the header button: "Index: 12 chunks, 3 minutes ago" (or what is wrong)."""
    if status is None:
        return str(_("Index: not indexed yet"))
    if status.status != "indexed":
        return str(_("Index: no chunks (%(reason)s)") % {"reason": status.status})
    parts = [ngettext("%(n)d chunk", "%(n)d chunks", status.chunks) % {"n": status.chunks}]
    if status.indexed_at:
        parts.append(_("%(age)s ago") % {"age": timesince(status.indexed_at)})
    if not status.embedder_current:
        parts.append(str(_("needs re-index: embedder changed")))
    if status.stale_outputs:
        parts.append(
            ngettext("%(n)d stale output", "%(n)d stale outputs", status.stale_outputs)
            % {"n": status.stale_outputs}
        )
    return str(_("Index: ")) + ", ".join(str(p) for p in parts)


def header_buttons(page: Page, user, view_name: str, next_url: str | None = None):
    """The editor header's "more" menu: index status, linking to the status page and its Re-index."""
    if view_name != "edit" or not _is_indexed_type(page) or not page.permissions_for_user(user).can_edit():
        return []
    url = reverse(STATUS_URL_NAME, args=[page.pk])
    return [
        Button(status_summary(page_index_status(page_id=page.pk)), url=url, icon_name="search", priority=80)
    ]


def listing_buttons(page: Page, user, next_url: str | None = None):
    if not _is_indexed_type(page) or not page.permissions_for_user(user).can_publish():
        return []
    return [Button(_("Index status / Re-index"), url=reverse(STATUS_URL_NAME, args=[page.pk]), priority=90)]


@require_http_methods(["GET", "POST"])
def page_index_status_view(request, page_id: int):
    """GET: the page's index status. POST: queue a re-index (publishers only)."""
    page = get_object_or_404(Page, pk=page_id).specific
    permissions = page.permissions_for_user(request.user)
    if not permissions.can_edit():
        raise PermissionDenied
    if request.method == "POST":
        if not permissions.can_publish():
            raise PermissionDenied
        pages_index_enqueue(page_ids=[page.pk])
        messages.success(request, _("Re-indexing of '%(title)s' has been queued.") % {"title": page.title})
        next_url = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("wagtailadmin_pages:edit", args=[page.pk])
        # Not redirect(): it would try a ``next`` such as "-1" as a URL name and fail with a 500.
        return HttpResponseRedirect(next_url)
    status = page_index_status(page_id=page.pk)
    return TemplateResponse(
        request,
        "content/admin/indexing_status.html",
        {
            "page": page,
            "status": status,
            "summary": status_summary(status),
            "can_reindex": permissions.can_publish(),
            "next": request.GET.get("next", ""),
            "header_title": _("Index status: %(title)s") % {"title": page.get_admin_display_title()},
        },
    )


def admin_urls() -> list:
    return [path("content/index-status/<int:page_id>/", page_index_status_view, name=STATUS_URL_NAME)]


class ReindexBulkAction(PageBulkAction):
    """Bulk "Re-index" on the page listing: one queued task per selected article (and, with
    "include descendants", every article below the selected pages)."""

    display_name = _("Re-index")
    action_type = "reindex"
    aria_label = _("Re-index selected pages for AI search")
    template_name = "content/admin/indexing_bulk_confirm.html"
    action_priority = 80

    def check_perm(self, page) -> bool:
        return page.permissions_for_user(self.request.user).can_publish()

    def get_execution_context(self) -> dict:
        return {
            **super().get_execution_context(),
            "include_descendants": self.cleaned_form.cleaned_data["include_descendants"],
        }

    @classmethod
    def execute_action(cls, objects, include_descendants: bool = False, user=None, **kwargs):
        ids: list[int] = []
        for page in objects:
            ids += indexed_descendant_ids(page, inclusive=True) if include_descendants else [page.pk]
        pages_index_enqueue(page_ids=ids)
        return len(objects), max(0, len(set(ids)) - len(objects))

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> str:
        return ngettext(
            "Re-indexing of %(count)d page has been queued.",
            "Re-indexing of %(count)d pages has been queued.",
            num_parent_objects + num_child_objects,
        ) % {"count": num_parent_objects + num_child_objects}
