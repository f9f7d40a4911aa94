"""Document library admin: the index status on a document's edit view, its "Re-index" action, and a
bulk "Re-index" on the document listing. Both actions only queue ``content.index_document`` (after
commit) and return at once; the work runs in a worker. Registered by ``content/wagtail_hooks.py``;
the edit view's panel is ``templates/wagtaildocs/documents/edit.html``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from wagtail.documents import get_document_model
from wagtail.documents.views.bulk_actions.document_bulk_action import DocumentBulkAction
from wagtail.permissions import policy_registry

from content.documents.services import documents_index_enqueue

REINDEX_URL_NAME = "content_document_reindex"


def can_reindex(user, document) -> bool:
    """Whoever may change the document may re-index it (it spends embedding, not generation)."""
    policy = policy_registry.get_by_type(get_document_model())
    return policy.user_has_permission_for_instance(user, "change", document)


@require_POST
def document_reindex_view(request, document_id: int):
    document = get_object_or_404(get_document_model(), pk=document_id)
    if not can_reindex(request.user, document):
        raise PermissionDenied
    documents_index_enqueue(document_ids=[document.pk])
    messages.success(request, _("Re-indexing of '%(title)s' has been queued.") % {"title": document.title})
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("wagtaildocs:edit", args=[document.pk])
    return HttpResponseRedirect(next_url)


def admin_urls() -> list:
    return [
        path("content/documents/<int:document_id>/reindex/", document_reindex_view, name=REINDEX_URL_NAME)
    ]


class ReindexDocumentsBulkAction(DocumentBulkAction):
    """Bulk "Re-index" on the document listing: one queued task per selected document."""

    display_name = _("Re-index")
    action_type = "reindex"
    aria_label = _("Re-index selected documents for AI search")
    template_name = "content/admin/document_reindex_bulk_confirm.html"
    action_priority = 80

    def check_perm(self, document) -> bool:
        return can_reindex(self.request.user, document)

    @classmethod
    def execute_action(cls, objects, **kwargs):
        documents_index_enqueue(document_ids=[document.pk for document in objects])
        return len(objects), 0

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> str:
        return ngettext(
            "Re-indexing of %(count)d document has been queued.",
            "Re-indexing of %(count)d documents has been queued.",
            num_parent_objects,
        ) % {"count": num_parent_objects}
