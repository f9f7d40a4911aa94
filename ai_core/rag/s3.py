"""Ingest text, Markdown and HTML objects from an S3 bucket into the knowledge index.

Credentials, region and endpoint come from the environment, the way boto3 reads them everywhere
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``
for MinIO, moto or another S3-compatible store); nothing is stored in settings.

Work is skipped at two levels: an unchanged ETag skips the download, and an unchanged content
hash (a re-upload of the same bytes) skips parsing and embedding. Deletions are applied only
after the whole listing succeeded, so a failed or partial listing never removes anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import quote

from django.utils import timezone

from . import documents
from .chunking import chunk_segments
from .conf import retrieval_settings
from .models import KnowledgeDocument
from .services.indexing import SourceRef, chunks_remove, chunks_sync, source_lock

logger = logging.getLogger(__name__)

KINDS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
MAX_OBJECT_BYTES = 5 * 1024 * 1024


class S3IngestError(Exception):
    """The bucket could not be listed: nothing was changed."""


@dataclass(kw_only=True)
class IngestReport:
    listed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    unsupported: int = 0
    embedded: int = 0
    reused: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


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


def _object_url(client, bucket: str, key: str) -> str:
    endpoint = (client.meta.endpoint_url or "https://s3.amazonaws.com").rstrip("/")
    return f"{endpoint}/{bucket}/{quote(key)}"


def s3_ingest(
    *, bucket: str, prefix: str = "", client=None, site_id: int | None = None, locale: str = "en"
) -> IngestReport:
    """Bring the documents under ``s3://bucket/prefix`` in line with the bucket."""
    client = client or s3_client()
    listing = _list(client, bucket, prefix)
    report = IngestReport(listed=len(listing))
    existing = {
        doc.key: doc
        for doc in KnowledgeDocument.objects.filter(
            source=KnowledgeDocument.Source.S3, bucket=bucket, key__startswith=prefix
        )
    }
    for key, obj in sorted(listing.items()):
        kind = KINDS.get(PurePosixPath(key).suffix.lower())
        if kind is None:
            report.unsupported += 1
            continue
        try:
            _ingest_one(
                client, bucket, key, obj, kind, existing.get(key), report, site_id=site_id, locale=locale
            )
        except Exception as err:  # one bad object must not stop the rest; it is reported
            logger.warning("s3 ingest of s3://%s/%s failed: %r", bucket, key, err)
            report.failed.append((key, f"{type(err).__name__}: {err}"))
    for key, doc in existing.items():
        if key in listing and KINDS.get(PurePosixPath(key).suffix.lower()):
            continue
        with source_lock("s3", f"{bucket}/{key}"):
            chunks_remove(source=SourceRef(document=doc), reason="deleted from S3")
            doc.delete()
        report.removed += 1
    return report


def _ingest_one(client, bucket, key, obj, kind, doc, report, *, site_id, locale) -> None:
    etag = str(obj.get("ETag", "")).strip('"')
    if doc is not None and doc.etag == etag and doc.indexed_at is not None:
        report.unchanged += 1
        return
    if obj.get("Size", 0) > MAX_OBJECT_BYTES:
        raise ValueError(f"object is larger than {MAX_OBJECT_BYTES} bytes")
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    digest = hashlib.sha256(body).hexdigest()
    with source_lock("s3", f"{bucket}/{key}"):
        if doc is not None and doc.content_hash == digest and doc.indexed_at is not None:
            KnowledgeDocument.objects.filter(pk=doc.pk).update(etag=etag)
            report.unchanged += 1
            return
        title, blocks = documents.parse_document(body.decode("utf-8"), kind=kind)
        title = (title or PurePosixPath(key).stem.replace("-", " ").replace("_", " ").strip() or key)[:255]
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
                "url": _object_url(client, bucket, key),
                "site_id": site_id,
                "locale": locale,
                "last_modified": obj.get("LastModified"),
            },
        )
        from ai_core import providers

        embedder = providers.embedder()
        chunks = chunk_segments(
            documents.blocks_to_segments(blocks),
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
