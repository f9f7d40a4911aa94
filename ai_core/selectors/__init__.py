"""ai_core's public reads. Other apps import from here, never from the submodules; ai_core's own
code imports the submodule it needs. Each submodule lists its public names in ``__all__``, so a
name added there reaches this facade without an edit here.

- ``visibility``: what of a request may be shown (the poll API, the stream, the summary tag).
- ``usage``: cache hit rates over the usage log.
- ``dashboard``: the usage and quality dashboard's aggregates over a date range.
"""

from .dashboard import *  # noqa: F403
from .usage import *  # noqa: F403
from .visibility import *  # noqa: F403
