"""Ingest PDF, Word (.docx), text, Markdown and HTML objects from an S3 bucket into the knowledge index.

Credentials, region and endpoint come from the environment, the way boto3 reads them everywhere
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``
for MinIO, moto or another S3-compatible store); nothing is stored in settings.

What may be read is decided by ``AI_CORE["S3_INGEST"]``, not by whoever types the command: keys
must lie inside ``ALLOWED_PREFIXES``, and each object must prove it is public (an ACL grant to
AllUsers, or a tag) on every run, since an ACL or tag change does not change the ETag. An object
that stops being public is removed like a deleted one. Citations link to ``PUBLIC_URL_BASE/<key>``,
where visitors can read the object, never to the endpoint the worker reads from.

Objects are read by ``ai_core.rag.extract``, the same code as the document library's files, so a
PDF's chunks cite ``PUBLIC_URL_BASE/<key>#page=N``. An object that cannot be read (encrypted, no
text layer, corrupt, over ``AI_CORE["DOCUMENTS"]["MAX_BYTES"]``) is skipped with its reason in the
report, and whatever an earlier version of it had indexed stays.

Work is skipped at two levels: an unchanged ETag skips the download, and an unchanged content
hash (a re-upload of the same bytes) skips parsing and embedding. Deletions are applied only
after the whole listing succeeded, so a failed or partial listing never removes anything. One run
per bucket+prefix at a time: a Redis lease (``ai_core.resilience.lease``) makes a redelivered task
message step aside while the first run still works.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import quote

from django.utils import timezone

from ai_core import conf
from ai_core.resilience.lease import lease
from ai_core.resilience.runtime import redis_key, shared_redis

from . import extract
from .chunking import chunk_segments
from .conf import documents_max_bytes, retrieval_settings
from .extract import (
    STATUS_LABELS,
    Extraction,
    document_kind,
    extract_document,
    extraction_segments,
    too_large,
)
from .models import KnowledgeDocument
from .services.indexing import (
    SourceRef,
    chunks_remove,
    chunks_sync,
    index_fingerprint,
    index_settings_key,
    source_lock,
)

logger = logging.getLogger(__name__)


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
PUBLIC_BY = ("acl", "tag")


class S3IngestError(Exception):
    """The run did not happen (bucket not listable, prefix not allowed, busy): nothing was changed."""


class S3IngestRefused(S3IngestError):
    """The request is outside what the settings allow (prefix, public URL)."""


class S3IngestBusy(S3IngestError):
    """Another run of the same bucket+prefix holds the lease."""


class InvalidS3IngestSettingError(conf.InvalidAICoreSettingError):
    pass


@dataclass(kw_only=True, frozen=True)
class S3IngestSettings:
    allowed: tuple[tuple[str, str], ...]  # (bucket, folder prefix: "" or ending in "/")
    public_by: str
    public_tag: tuple[str, str]
    url_bases: dict[str, str]  # bucket -> base; "*" for every bucket
    lease_seconds: int

    def allows(self, bucket: str, key_or_prefix: str) -> bool:
        return any(b == bucket and key_or_prefix.startswith(p) for b, p in self.allowed)

    def url_base(self, bucket: str) -> str:
        return self.url_bases.get(bucket) or self.url_bases.get("*", "")


def _allowed_entry(entry: object) -> tuple[str, str]:
    if not isinstance(entry, str) or not entry.strip().strip("/"):
        raise InvalidS3IngestSettingError(
            f"AI_CORE['S3_INGEST']['ALLOWED_PREFIXES'] entry {entry!r} must be 'bucket' or 'bucket/folder/'."
        )
    bucket, _, prefix = entry.strip().lstrip("/").partition("/")
    # A folder, not a string prefix: "help" must not also allow "helpdesk-internal/".
    return bucket, (prefix.rstrip("/") + "/") if prefix.strip("/") else ""


def s3_ingest_settings() -> S3IngestSettings:
    """``AI_CORE["S3_INGEST"]``, validated (the system check ``rag.E010`` reports errors at start-up)."""
    raw = conf.setting_or_none("S3_INGEST") or {}
    if not isinstance(raw, dict):
        raise InvalidS3IngestSettingError("AI_CORE['S3_INGEST'] must be a dict.")
    entries = raw.get("ALLOWED_PREFIXES") or []
    if isinstance(entries, str):
        entries = [part for part in entries.split(",") if part.strip()]
    public_by = raw.get("PUBLIC_BY", "acl")
    if public_by not in PUBLIC_BY:
        raise InvalidS3IngestSettingError(
            f"AI_CORE['S3_INGEST']['PUBLIC_BY'] must be one of {', '.join(PUBLIC_BY)}, not {public_by!r}."
        )
    tag_key, sep, tag_value = str(raw.get("PUBLIC_TAG", "public=true")).partition("=")
    if not sep or not tag_key.strip():
        raise InvalidS3IngestSettingError("AI_CORE['S3_INGEST']['PUBLIC_TAG'] must look like 'key=value'.")
    bases = raw.get("PUBLIC_URL_BASE") or ""
    bases = {"*": bases} if isinstance(bases, str) else dict(bases)
    for bucket, base in bases.items():
        if base and not str(base).startswith(("https://", "http://")):
            raise InvalidS3IngestSettingError(
                f"AI_CORE['S3_INGEST']['PUBLIC_URL_BASE'] for {bucket!r} must be an http(s) URL, not {base!r}."
            )
    try:
        lease_seconds = int(raw.get("LEASE_SECONDS", 60))
    except (TypeError, ValueError) as err:
        raise InvalidS3IngestSettingError(
            "AI_CORE['S3_INGEST']['LEASE_SECONDS'] must be an integer."
        ) from err
    if lease_seconds < 5:
        raise InvalidS3IngestSettingError("AI_CORE['S3_INGEST']['LEASE_SECONDS'] must be at least 5.")
    return S3IngestSettings(
        allowed=tuple(_allowed_entry(entry) for entry in entries),
        public_by=public_by,
        public_tag=(tag_key.strip(), tag_value.strip()),
        url_bases={bucket: str(base).rstrip("/") for bucket, base in bases.items() if base},
        lease_seconds=lease_seconds,
    )


@dataclass(kw_only=True)
class IngestReport:
    listed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    unsupported: int = 0
    not_public: int = 0
    not_allowed: int = 0
    embedded: int = 0
    reused: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    # Objects that were read but hold nothing to index, with the extractor's reason ("encrypted",
    # "no extractable text", "unreadable: ...", "too large: ..."); their earlier chunks are kept.
    skipped: list[tuple[str, str]] = field(default_factory=list)


def s3_client():
    """A boto3 S3 client configured from the environment, with explicit timeouts and retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        region_name=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}),
    )


def _list(client, bucket: str, prefix: str) -> dict[str, dict]:
    from botocore.exceptions import BotoCoreError, ClientError

    objects: dict[str, dict] = {}
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                objects[obj["Key"]] = obj
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        raise S3IngestError(f"cannot list s3://{bucket}/{prefix}: {code or err}") from err
    except BotoCoreError as err:
        raise S3IngestError(f"cannot reach S3 to list s3://{bucket}/{prefix}: {err}") from err
    return objects


def _is_public(client, bucket: str, key: str, config: S3IngestSettings) -> bool:
    if config.public_by == "tag":
        tags = client.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
        return any((tag.get("Key"), tag.get("Value")) == config.public_tag for tag in tags)
    grants = client.get_object_acl(Bucket=bucket, Key=key).get("Grants", [])
    return any(
        grant.get("Grantee", {}).get("URI") == ALL_USERS
        and grant.get("Permission") in ("READ", "FULL_CONTROL")
        for grant in grants
    )


def s3_ingest_check(*, bucket: str, prefix: str, config: S3IngestSettings | None = None) -> S3IngestSettings:
    """Refuse, before touching S3, a run the settings do not allow; returns the settings."""
    config = config or s3_ingest_settings()
    if not config.allowed:
        raise S3IngestRefused(
            "S3 ingest is switched off: AI_CORE['S3_INGEST']['ALLOWED_PREFIXES'] "
            "(AI_S3_INGEST_ALLOWED_PREFIXES) lists no bucket or folder"
        )
    if not config.allows(bucket, prefix):
        allowed = ", ".join(f"{b}/{p}" for b, p in config.allowed)
        raise S3IngestRefused(
            f"s3://{bucket}/{prefix} is not inside the allowed prefixes ({allowed}); "
            "use one of them or a folder below one"
        )
    if not config.url_base(bucket):
        raise S3IngestRefused(
            f"no public URL for bucket {bucket!r}: set AI_CORE['S3_INGEST']['PUBLIC_URL_BASE'] "
            "(AI_S3_INGEST_PUBLIC_URL_BASE) to where visitors read its objects, so citations work"
        )
    return config


def s3_ingest(
    *, bucket: str, prefix: str = "", site_id: int | None, locale: str = "en", client=None
) -> IngestReport:
    """Bring the documents under ``s3://bucket/prefix`` in line with the bucket.

    ``site_id`` is required (``None`` meaning: shared by every site) so that nobody publishes a
    bucket to every site by forgetting an argument.
    """
    config = s3_ingest_check(bucket=bucket, prefix=prefix)
    with lease(shared_redis(), redis_key("s3-ingest", bucket, prefix), ttl_s=config.lease_seconds) as held:
        if not held.held:
            raise S3IngestBusy(f"another ingest of s3://{bucket}/{prefix} is still running; this one stopped")
        return _ingest(client or s3_client(), bucket, prefix, config, held, site_id=site_id, locale=locale)


def _ingest(client, bucket, prefix, config, held, *, site_id, locale) -> IngestReport:
    listing = _list(client, bucket, prefix)
    report = IngestReport(listed=len(listing))
    existing = {
        doc.key: doc
        for doc in KnowledgeDocument.objects.filter(
            source=KnowledgeDocument.Source.S3, bucket=bucket, key__startswith=prefix
        )
    }
    keep: set[str] = set()  # ingested, unchanged, skipped or failed (neither removes anything)
    max_bytes = documents_max_bytes()
    from ai_core import providers

    embedder = providers.embedder()
    # What else decides the chunks of the same bytes: the extractor, chunker and embedder. A
    # change to any of them re-reads every object once (re-embedding only text that changed).
    fingerprint = index_fingerprint(
        settings_key=index_settings_key(embedder=embedder), parts=["s3", extract.EXTRACTOR_VERSION]
    )
    for key, obj in sorted(listing.items()):
        if held.lost.is_set():
            raise S3IngestBusy(f"ingest of s3://{bucket}/{prefix} lost its lease to another run; stopped")
        kind = document_kind(filename=key)
        if not kind:
            report.unsupported += 1
            continue
        if not config.allows(bucket, key):  # the listing prefix "help" also returns "helpdesk/..."
            report.not_allowed += 1
            continue
        try:
            if not _is_public(client, bucket, key, config):
                report.not_public += 1
                continue
            keep.add(key)
            url = f"{config.url_base(bucket)}/{quote(key)}"
            _ingest_one(
                client,
                bucket,
                key,
                obj,
                kind,
                existing.get(key),
                report,
                site_id=site_id,
                locale=locale,
                url=url,
                max_bytes=max_bytes,
                embedder=embedder,
                fingerprint=fingerprint,
            )
        except Exception as err:  # one bad object must not stop the rest; it is reported
            logger.warning("s3 ingest of s3://%s/%s failed: %r", bucket, key, err)
            report.failed.append((key, f"{type(err).__name__}: {err}"))
            keep.add(key)
    for key, doc in existing.items():
        if key in keep:
            continue
        with source_lock("s3", f"{bucket}/{key}"):
            chunks_remove(source=SourceRef(document=doc), reason="deleted from S3 or no longer public")
            doc.delete()
        report.removed += 1
    return report


def _ingest_one(
    client, bucket, key, obj, kind, doc, report, *, site_id, locale, url, max_bytes, embedder, fingerprint
) -> None:
    etag = str(obj.get("ETag", "")).strip('"')
    # Where it is shown and cited, and how it was read, are part of what was indexed: a new --site,
    # URL base, extractor, chunker or embedder re-indexes.
    same_place = doc is not None and (doc.site_id, doc.locale, doc.url, doc.fingerprint) == (
        site_id,
        locale,
        url,
        fingerprint,
    )
    if same_place and doc.etag == etag and doc.indexed_at is not None:
        report.unchanged += 1
        return
    if obj.get("Size", 0) > max_bytes:  # from the listing: not even downloaded
        _skip(doc, key, too_large(size=obj["Size"], max_bytes=max_bytes), report)
        return
    response = client.get_object(Bucket=bucket, Key=key)
    body = response["Body"].read()
    digest = hashlib.sha256(body).hexdigest()
    with source_lock("s3", f"{bucket}/{key}"):
        if same_place and doc.content_hash == digest and doc.indexed_at is not None:
            KnowledgeDocument.objects.filter(pk=doc.pk).update(etag=etag)
            report.unchanged += 1
            return
        extraction = extract_document(
            body, filename=key, content_type=response.get("ContentType"), max_bytes=max_bytes
        )
        if not extraction.ok:
            _skip(doc, key, extraction, report)
            return
        title = (
            extraction.title or PurePosixPath(key).stem.replace("-", " ").replace("_", " ").strip() or key
        )[:255]
        doc, created = KnowledgeDocument.objects.update_or_create(
            source=KnowledgeDocument.Source.S3,
            bucket=bucket,
            key=key,
            defaults={
                "etag": etag,
                "content_hash": digest,
                "content_type": kind,
                "size": len(body),
                "title": title,
                "url": url,
                "site_id": site_id,
                "locale": locale,
                "last_modified": obj.get("LastModified"),
                "status": STATUS_LABELS["ok"],
                "status_message": "" if extraction.message == "ok" else extraction.message,
                "page_count": extraction.pages,
                "fingerprint": fingerprint,
            },
        )
        chunks = chunk_segments(
            extraction_segments(extraction),
            title=title,
            config=retrieval_settings().chunking_for(embedder),
        )
        source = SourceRef(document=doc, site_id=site_id, locale=locale, title=title, url=doc.url)
        outcome = chunks_sync(source=source, chunks=chunks, embedder=embedder)
        doc.chunk_count, doc.indexed_at = outcome.chunks, timezone.now()
        doc.save(update_fields=["chunk_count", "indexed_at"])
    report.created += created
    report.updated += not created
    report.embedded += outcome.embedded
    report.reused += outcome.reused


def _skip(doc: KnowledgeDocument | None, key: str, extraction: Extraction, report: IngestReport) -> None:
    """Report an object that holds nothing to index. A document indexed from an earlier version
    keeps its chunks, ETag and hash (so the next run reads the object again and still says why)
    and records the status for the admin."""
    report.skipped.append((key, extraction.message))
    if doc is not None:
        KnowledgeDocument.objects.filter(pk=doc.pk).update(
            status=STATUS_LABELS.get(extraction.status, extraction.status),
            status_message=extraction.message[:2000],
        )
