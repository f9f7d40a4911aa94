"""``LECTERN_DOCUMENTS``: how the site's document library maps onto sites.

``COLLECTION_SITES`` maps a collection (by name, or id) to the site whose visitors may read its
documents (a Site id, or its hostname); sub-collections follow their nearest mapped ancestor.
Documents of an unmapped collection belong to every site, which is the default for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class InvalidDocumentsSettingError(ImproperlyConfigured):
    """``LECTERN_DOCUMENTS`` is malformed."""


@dataclass(kw_only=True, frozen=True)
class DocumentsSettings:
    # collection name or id -> Site id or hostname
    collection_sites: dict[str | int, int | str]


def documents_settings() -> DocumentsSettings:
    raw = getattr(settings, "LECTERN_DOCUMENTS", None) or {}
    if not isinstance(raw, dict):
        raise InvalidDocumentsSettingError("LECTERN_DOCUMENTS must be a dict.")
    unknown = sorted(set(raw) - {"COLLECTION_SITES"})
    if unknown:
        raise InvalidDocumentsSettingError(
            f"LECTERN_DOCUMENTS has unknown key(s) {', '.join(unknown)}; known: COLLECTION_SITES."
        )
    mapping = raw.get("COLLECTION_SITES") or {}
    if not isinstance(mapping, dict):
        raise InvalidDocumentsSettingError(
            "LECTERN_DOCUMENTS['COLLECTION_SITES'] must map collection names (or ids) to a Site id or hostname."
        )
    for collection, site in mapping.items():
        if (
            isinstance(collection, bool)
            or not isinstance(collection, str | int)
            or not str(collection).strip()
        ):
            raise InvalidDocumentsSettingError(
                f"LECTERN_DOCUMENTS['COLLECTION_SITES'] key {collection!r} must be a collection name or id."
            )
        if isinstance(site, bool) or not isinstance(site, str | int) or not str(site).strip():
            raise InvalidDocumentsSettingError(
                f"LECTERN_DOCUMENTS['COLLECTION_SITES'][{collection!r}] must be a Site id or hostname, not {site!r}."
            )
    return DocumentsSettings(collection_sites=dict(mapping))


def documents_settings_check(app_configs=None, **kwargs) -> list:
    """System check (registered in ``ContentConfig.ready``): a bad mapping fails ``manage.py check``."""
    from django.core import checks

    try:
        documents_settings()
    except InvalidDocumentsSettingError as err:
        return [checks.Error(str(err), id="content.E010")]
    return []
