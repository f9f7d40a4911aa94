"""Signals other features hang on to, so this package never imports them.

``page_indexed``: a page's chunks were (re)written or removed; kwargs ``page_id``, ``embedded``,
``reused``, ``removed``, ``chunks``. Sent after commit. The page summary feature listens here.

``outputs_marked_stale``: outputs lost a cited chunk; kwargs ``request_ids``, ``reason``. Sent
after commit. The response cache listens here to drop cached answers built on them.

``chunks_replaced``: ``chunks_sync`` removed or rewrote stored chunks of a source; kwargs
``page_id``, ``document_id`` (one of them ``None``), ``removed`` and ``current``, tuples of
``ChunkSnapshot`` (the chunks that went, with their text; the source's chunks after the sync).
Sent *inside* the sync's transaction, under the source's lock, because it is the last moment the
removed chunks' text is known: receivers write in that transaction (the review app retires the
approved answers citing them and queues each for a reviewer with the old and new text) and must
not raise; a receiver's failure would undo the index run.

``chunks_removed``: ``chunks_remove`` deleted every chunk of a source (unpublished, made private,
deleted, unroutable); kwargs ``page_id``, ``document_id`` (one of them ``None``), ``chunk_ids`` and
``reason``. Sent inside the removal's transaction; receivers must not raise (a removal for privacy
must land whatever they do). The approved-answer store retires the answers citing those chunks.
"""

from django.dispatch import Signal

page_indexed = Signal()
outputs_marked_stale = Signal()
chunks_replaced = Signal()
chunks_removed = Signal()
