"""``{% document_index_status document as index %}``: the document edit view's AI index panel."""

from __future__ import annotations

from django import template
from django.urls import reverse

from content.admin.documents import REINDEX_URL_NAME, can_reindex
from content.documents.selectors import document_index_status as read_status

register = template.Library()


@register.simple_tag(takes_context=True)
def document_index_status(context, document) -> dict:
    status = read_status(document=document)
    request = context.get("request")
    return {
        **status.__dict__,
        "can_reindex": bool(request and can_reindex(request.user, document)),
        "reindex_url": reverse(REINDEX_URL_NAME, args=[document.pk]),
    }
