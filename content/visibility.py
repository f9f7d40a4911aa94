"""Who may read which page, and where a question is asked from: the one rule, written once.

``visible_page_ids`` is the rule retrieval re-checks at query time (``AI_CORE["RETRIEVAL"]
["PAGE_ACCESS_CHECK"]``), the ask views use to accept a ``page_id``, and a move uses to drop what
became private. ``ask_scope_resolve`` turns an HTTP request into the plain site id and language
code an ``AIRequest`` records, so ``ai_core`` never needs Wagtail's sites.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Length
from django.db.models.lookups import StartsWith
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils import translation
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Page, PageViewRestriction, Site

from ai_core.services import MAX_PAGE_ID, ScopeRejected

from .site_hosts import site_hosts_lookup


def visible_page_ids(*, page_ids: Collection[int], site_id: int | None) -> set[int]:
    """The pages among ``page_ids`` an anonymous visitor of site ``site_id`` may read now.

    Live, with no view restriction on the page or any ancestor, and inside the site's tree
    (``site_id`` None: inside some site's tree, i.e. routable at all). One query, whatever the
    number of pages: it runs for every question, on the pages of the chunks about to be cited.
    """
    ids = {int(pk) for pk in page_ids}
    if not ids:
        return set()
    # A restriction applies to its page and every descendant: the page's path starts with its path.
    restricted = PageViewRestriction.objects.filter(StartsWith(OuterRef("path"), F("page__path")))
    pages = Page.objects.filter(pk__in=ids, live=True).exclude(Exists(restricted))
    if site_id is not None:
        root = Site.objects.filter(pk=site_id).values("root_page__path")[:1]
        pages = pages.filter(StartsWith(F("path"), Subquery(root)))
    else:
        pages = pages.filter(Exists(Site.objects.filter(StartsWith(OuterRef("path"), F("root_page__path")))))
    return set(pages.values_list("pk", flat=True))


def page_site_id(page: Page) -> int | None:
    """The site serving ``page`` (the deepest site root above it, as Wagtail's routing picks), or
    ``None`` when it is in no site's tree.

    Read from the database, not from Wagtail's cached site root paths: a worker whose cache was
    filled before a site changed (another cache prefix, a restored database) would index the page
    under a site it no longer belongs to, or call it unroutable.
    """
    sites = Site.objects.filter(StartsWith(Value(page.path), F("root_page__path")))
    ordered = sites.order_by(Length("root_page__path").desc(), "-is_default_site", "hostname", "port")
    return ordered.values_list("pk", flat=True).first()


class PageNotAskable(ScopeRejected):
    """The ``page_id`` names no live, public page of the visitor's site (or no page at all)."""


@dataclass(kw_only=True, frozen=True)
class AskScope:
    site_id: int | None
    locale: str


def site_id_for_host(*, hostname: str, port: object) -> int | None:
    """The id of the site serving ``hostname:port``, by Wagtail's rule (``get_site_for_hostname``):
    the exact host and port, else that host on the default site, else the default site, unless
    exactly one other site has the host; ``None`` when nothing matches.

    Every question asked runs this. Wagtail's own lookup annotates a CASE, orders by it and loads
    each candidate site's root page (a full ``Page``), which made it the dearest step of a submit;
    the same rule over four plain columns gives the same answer for a fraction of the work. Each
    process memoizes the answers against a site version in Redis that a Site save or delete bumps
    (``content.site_hosts``), so a site an admin just changed is still seen at once.
    """
    try:
        port_number = int(port)
    except (TypeError, ValueError):
        port_number = None
    return site_hosts_lookup(
        hostname=hostname, port=port_number, compute=lambda: _site_id_for_host_from_db(hostname, port_number)
    )


def _site_id_for_host_from_db(hostname: str, port_number: int | None) -> int | None:
    rows = Site.objects.filter(Q(hostname=hostname) | Q(is_default_site=True)).values_list(
        "pk", "hostname", "port", "is_default_site"
    )

    def rank(row: tuple[int, str, int, bool]) -> int:
        _, host, site_port, is_default = row
        if host == hostname and site_port == port_number:
            return 1
        if host == hostname and is_default:
            return 2
        return 3 if is_default else 4

    sites = sorted(rows.order_by(), key=rank)
    if not sites:
        return None
    if len(sites) == 1 or rank(sites[0]) in (1, 2):
        return sites[0][0]
    if rank(sites[0]) == 3:  # the default, unless exactly one other site has this host
        return sites[1][0] if len(sites) == 2 else sites[0][0]
    return None  # several sites have the host, on other ports, and there is no default


def ask_scope_resolve(*, request: HttpRequest, page_id: object = None) -> AskScope:
    """Site and locale of a question (``AI_CORE["REQUEST_SCOPE"]``, for ai_core's API): the site
    serving the request's host (``site_id_for_host``: Wagtail's ``Site.find_for_request`` rule)
    and the page's locale, or the active one.

    A ``page_id`` that is a valid id but not a page this visitor can read on this site raises
    ``PageNotAskable``: answering it would search another site's (or a private) page. Anything
    else in ``page_id`` is left for ``ai_request_submit`` to reject with its own message.
    """
    hostname = split_domain_port(request._get_raw_host())[0]  # as Wagtail: ALLOWED_HOSTS has run
    site_id = site_id_for_host(hostname=hostname, port=request.get_port())
    if isinstance(page_id, int) and not isinstance(page_id, bool) and 1 <= page_id <= MAX_PAGE_ID:
        if site_id is None or not visible_page_ids(page_ids=[page_id], site_id=site_id):
            raise PageNotAskable(page_id)
        language = Page.objects.filter(pk=page_id).values_list("locale__language_code", flat=True).first()
        return AskScope(site_id=site_id, locale=language or "")
    try:
        language = get_supported_content_language_variant(translation.get_language() or "")
    except LookupError:
        language = translation.get_language() or ""
    return AskScope(site_id=site_id, locale=language)
