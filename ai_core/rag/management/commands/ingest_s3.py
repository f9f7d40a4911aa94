"""Ingest PDF, Word, text, Markdown and HTML objects from S3 into the knowledge index (see ``ai_core.rag.s3``).

Runs in this process by default; ``--queue`` hands the work to a Celery worker instead. Which
buckets and folders may be read, how an object shows it is public and where citations link are
settings (``AI_CORE["S3_INGEST"]``), not arguments: a mistyped prefix is refused, not ingested.
Credentials and endpoint come from the environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from wagtail.models import Locale, Site

from ai_core.rag.s3 import S3IngestBusy, S3IngestError, s3_ingest, s3_ingest_check
from ai_core.rag.tasks import ingest_s3


def site_from_argument(value: str) -> Site:
    """A Wagtail site by id or by hostname; an unknown or ambiguous one is an error naming the choices."""
    sites = Site.objects.filter(pk=int(value)) if value.isdigit() else Site.objects.filter(hostname=value)
    found = list(sites[:2])
    if len(found) == 1:
        return found[0]
    known = ", ".join(f"{site.pk} ({site.hostname}:{site.port})" for site in Site.objects.order_by("pk"))
    if found:
        raise CommandError(f"--site {value!r} matches several sites; give the id instead: {known}")
    raise CommandError(f"--site {value!r} is not a site id or hostname; known sites: {known or 'none'}")


class Command(BaseCommand):
    help = "Ingest documents from an S3 bucket (new, changed and deleted objects) into the knowledge index."

    def add_arguments(self, parser):
        parser.add_argument("--bucket", required=True)
        parser.add_argument(
            "--prefix",
            default="",
            help="Only keys in this folder; must be inside AI_CORE['S3_INGEST']['ALLOWED_PREFIXES'].",
        )
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument(
            "--site", metavar="SITE_ID_OR_HOSTNAME", help="The Wagtail site whose visitors may read them."
        )
        scope.add_argument("--shared", action="store_true", help="Readable from every site.")
        parser.add_argument("--locale", default="en", help="Language code of the documents.")
        parser.add_argument(
            "--queue", action="store_true", help="Enqueue a Celery task instead of running here."
        )

    def handle(
        self,
        *args,
        bucket: str,
        prefix: str,
        site: str | None,
        shared: bool,
        locale: str,
        queue: bool,
        **options,
    ):
        if not bucket.strip():
            raise CommandError("--bucket must not be empty")
        try:
            s3_ingest_check(bucket=bucket, prefix=prefix)  # refuse here, not later in a worker's log
        except S3IngestError as err:
            raise CommandError(f"{err}. Nothing was ingested.") from err
        site_id = None if shared else site_from_argument(site.strip()).pk
        if not Locale.objects.filter(language_code=locale).exists():
            known = ", ".join(
                Locale.objects.order_by("language_code").values_list("language_code", flat=True)
            )
            raise CommandError(f"--locale {locale!r} is not a Wagtail locale; known: {known or 'none'}")
        scope = "every site" if site_id is None else f"site {site_id}"
        if queue:
            ingest_s3.delay(bucket, prefix, site_id, locale)
            self.stdout.write(f"Queued ingest of s3://{bucket}/{prefix} for {scope}")
            return
        try:
            report = s3_ingest(bucket=bucket, prefix=prefix, site_id=site_id, locale=locale)
        except S3IngestBusy as err:  # may have stopped mid-run (lease lost): say no more than we know
            raise CommandError(f"{err}. Run it again once the other run has finished.") from err
        except S3IngestError as err:
            raise CommandError(f"{err}. Nothing was changed.") from err
        self.stdout.write(
            f"s3://{bucket}/{prefix} for {scope}: {report.listed} listed, {report.created} new, "
            f"{report.updated} changed, {report.unchanged} unchanged, {report.removed} removed, "
            f"{report.unsupported} unsupported, {report.not_public} not public, "
            f"{report.not_allowed} outside the allowed prefixes, {len(report.skipped)} skipped; "
            f"{report.embedded} chunks embedded, {report.reused} reused."
        )
        for key, reason in report.skipped:  # known conditions of a file, not errors of the run
            self.stdout.write(self.style.WARNING(f"  skipped: {key}: {reason}"))
        for key, error in report.failed:
            self.stderr.write(f"  failed: {key}: {error}")
        if report.failed:
            raise CommandError(f"{len(report.failed)} object(s) could not be ingested; the rest were.")
        self.stdout.write(self.style.SUCCESS("Done."))
