"""The demo site's text (Markdown, one folder per section) and its generated documents (``documents``)."""
