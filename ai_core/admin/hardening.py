"""Wagtail's own snippet views for the prompt snippet, made to answer hostile URLs with a 4xx.

Found by the abuse suite (tests/abuse/): each of these answered a 500.
- ``?next=-1`` (or any value without "/"): lock, unlock and unschedule pass the checked ``next``
  to ``redirect()``, which takes it for a URL name and raises NoReverseMatch.
- A non-numeric pk where the route accepts any text (``history/abc/revisions/compare/...``,
  ``choose/.../chosen/abc/``, ``chosen-multiple/?id=abc``): the integer lookup raises ValueError.
- A POST to the chooser's create view, which has no creation form for this snippet.
"""

from __future__ import annotations

from django.contrib.admin.utils import quote
from django.http import Http404, HttpResponseNotAllowed
from django.urls import reverse
from wagtail.snippets.views.chooser import (
    SnippetChooserViewSet,
    SnippetChosenMultipleView,
    SnippetChosenView,
    SnippetCreateView,
)
from wagtail.snippets.views.snippets import (
    LockView,
    RevisionsCompareView,
    RevisionsUnscheduleView,
    UnlockView,
)


def _redirectable(url: str) -> bool:
    """``redirect()`` treats a value without "/" or "." as a URL name; only follow real paths."""
    return "/" in url


class PathOnlyNextMixin:
    """For Wagtail's operation views (lock, unlock), which keep the checked ``next`` in ``next_url``."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        if not _redirectable(self.next_url):
            self.next_url = ""  # falls back to the view's own success URL


class PromptLockView(PathOnlyNextMixin, LockView):
    pass


class PromptUnlockView(PathOnlyNextMixin, UnlockView):
    pass


class PromptRevisionsUnscheduleView(RevisionsUnscheduleView):
    def get_next_url(self):
        url = super().get_next_url()
        if _redirectable(url):
            return url
        return reverse(self.history_url_name, args=(quote(self.object.pk),))


class PromptRevisionsCompareView(RevisionsCompareView):
    def setup(self, request, *args, **kwargs):
        if not str(kwargs.get("pk", "")).isdigit():
            raise Http404("No such prompt.")
        super().setup(request, *args, **kwargs)


class PromptChosenView(SnippetChosenView):
    def get_object(self, pk):
        if not str(pk).isdigit():
            raise Http404("No such prompt.")
        return super().get_object(pk)


class PromptChosenMultipleView(SnippetChosenMultipleView):
    def get_objects(self, pks):
        return super().get_objects([pk for pk in pks if pk.isascii() and pk.isdigit()])


class PromptChooserCreateView(SnippetCreateView):
    def post(self, request, *args, **kwargs):
        if self.get_creation_form_class() is None:
            return HttpResponseNotAllowed(["GET"])
        return super().post(request, *args, **kwargs)


class PromptChooserViewSet(SnippetChooserViewSet):
    chosen_view_class = PromptChosenView
    chosen_multiple_view_class = PromptChosenMultipleView
    create_view_class = PromptChooserCreateView
