"""Signals other features hang on to, so this package never imports them.

``page_indexed``: a page's chunks were (re)written or removed; kwargs ``page_id``, ``embedded``,
``reused``, ``removed``, ``chunks``. Sent after commit. The page summary feature listens here.

``outputs_marked_stale``: outputs lost a cited chunk; kwargs ``request_ids``, ``reason``. Sent
after commit. The response cache listens here to drop cached answers built on them.
"""

from django.dispatch import Signal

page_indexed = Signal()
outputs_marked_stale = Signal()
