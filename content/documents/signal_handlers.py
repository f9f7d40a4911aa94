"""Keep the knowledge index in step with the document library. ``register_signal_handlers()``
connects the receivers (from ``ContentConfig.ready()``), each with its sender.

Every receiver queues ``content.index_document`` (or ``content.unindex_document``, on the removals
queue) after commit, with the document id only; the task reads the document then. Whatever takes
a document away from visitors (deleted, moved into a private collection, a view restriction on its
collection or an ancestor) also removes its chunks at once, as for pages; retrieval re-checks
every document at query time besides (``DOCUMENT_ACCESS_CHECK``).

Model signals rather than admin hooks: they fire for every route (the Documents menu, the
chooser's upload tab, bulk upload, the edit view's file replacement, and code).
"""

from __future__ import annotations

from .indexing import documents_unindex_now
from .services import documents_index_enqueue, documents_unindex_enqueue
from .visibility import document_access, document_ids_in_collection

# Saves that only cache file metadata (Wagtail's ``get_file_hash``/``get_file_size``): the file,
# title and collection are as they were, so there is nothing to index.
_METADATA_ONLY = frozenset({"file_hash", "file_size"})


def on_document_saved(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    if raw or (update_fields and set(update_fields) <= _METADATA_ONLY):
        return
    public, _site = document_access(instance)
    if not public:
        documents_unindex_now(document_ids=[instance.pk], reason="private")
        documents_unindex_enqueue(document_ids=[instance.pk])
    else:
        documents_index_enqueue(document_ids=[instance.pk])


def on_document_deleted(sender, instance, **kwargs) -> None:
    documents_unindex_now(document_ids=[instance.pk], reason="deleted")
    documents_unindex_enqueue(document_ids=[instance.pk])


def _collection(instance):
    from wagtail.models import Collection

    # Looked up by id: a restriction deleted with its collection has no collection left.
    return Collection.objects.filter(pk=instance.collection_id).first()


def on_collection_restriction_saved(sender, instance, **kwargs) -> None:
    if collection := _collection(instance):
        ids = document_ids_in_collection(collection)
        documents_unindex_now(document_ids=ids, reason="private")
        documents_unindex_enqueue(document_ids=ids)


def on_collection_restriction_deleted(sender, instance, **kwargs) -> None:
    # Another restriction higher up may still apply; the task checks before indexing.
    if collection := _collection(instance):
        documents_index_enqueue(document_ids=document_ids_in_collection(collection))


def register_signal_handlers() -> None:
    from django.db.models.signals import post_delete, post_save
    from wagtail.documents import get_document_model
    from wagtail.models import CollectionViewRestriction

    document_model = get_document_model()
    uid = "content.documents"
    post_save.connect(on_document_saved, sender=document_model, dispatch_uid=f"{uid}.saved")
    post_delete.connect(on_document_deleted, sender=document_model, dispatch_uid=f"{uid}.deleted")
    post_save.connect(
        on_collection_restriction_saved, sender=CollectionViewRestriction, dispatch_uid=f"{uid}.restricted"
    )
    post_delete.connect(
        on_collection_restriction_deleted,
        sender=CollectionViewRestriction,
        dispatch_uid=f"{uid}.unrestricted",
    )
