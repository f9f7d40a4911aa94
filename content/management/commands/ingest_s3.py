"""Ingest text, Markdown and HTML objects from S3 into the knowledge index (see ``ai_core.rag.s3``).

Runs in this process by default; ``--queue`` hands the work to a Celery worker instead.
Credentials and endpoint come from the environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ai_core.rag.s3 import S3IngestError, s3_ingest
from ai_core.rag.tasks import ingest_s3


class Command(BaseCommand):
    help = "Ingest documents from an S3 bucket (new, changed and deleted objects) into the knowledge index."

    def add_arguments(self, parser):
        parser.add_argument("--bucket", required=True)
        parser.add_argument("--prefix", default="", help="Only keys starting with this prefix.")
        parser.add_argument(
            "--site", type=int, default=None, help="Site id the documents belong to (default: all)."
        )
        parser.add_argument("--locale", default="en", help="Language code of the documents.")
        parser.add_argument(
            "--queue", action="store_true", help="Enqueue a Celery task instead of running here."
        )

    def handle(self, *args, bucket: str, prefix: str, site: int | None, locale: str, queue: bool, **options):
        if not bucket.strip():
            raise CommandError("--bucket must not be empty")
        if queue:
            ingest_s3.delay(bucket, prefix, site, locale)
            self.stdout.write(f"Queued ingest of s3://{bucket}/{prefix}")
            return
        try:
            report = s3_ingest(bucket=bucket, prefix=prefix, site_id=site, locale=locale)
        except S3IngestError as err:
            raise CommandError(f"{err}. Nothing was changed.") from err
        self.stdout.write(
            f"s3://{bucket}/{prefix}: {report.listed} listed, {report.created} new, {report.updated} changed, "
            f"{report.unchanged} unchanged, {report.removed} removed, {report.unsupported} unsupported; "
            f"{report.embedded} chunks embedded, {report.reused} reused."
        )
        for key, error in report.failed:
            self.stderr.write(f"  failed: {key}: {error}")
        if report.failed:
            raise CommandError(f"{len(report.failed)} object(s) could not be ingested; the rest were.")
        self.stdout.write(self.style.SUCCESS("Done."))
