"""S3 ingest refusals as an operator meets them: prefixes outside the allow list, ingest switched
off, a missing bucket, bad command arguments, bad settings failing the system check. Nothing is read
or stored when a run is refused."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from ai_core.rag.models import KnowledgeDocument
from ai_core.rag.s3 import s3_ingest

from .helpers import HTML, MARKDOWN, configure, put

pytestmark = pytest.mark.django_db


def test_a_missing_bucket_is_a_command_error_and_nothing_is_removed(fake_embedder, s3, settings):
    configure(settings, ALLOWED_PREFIXES=["docs", "no-such-bucket"])
    put(s3, "a.md", MARKDOWN)
    call_command("ingest_s3", "--bucket", "docs", "--shared")
    with pytest.raises(CommandError, match="NoSuchBucket"):
        call_command("ingest_s3", "--bucket", "no-such-bucket", "--shared")
    assert KnowledgeDocument.objects.count() == 1


def test_a_prefix_outside_the_allow_list_is_refused_before_s3_is_read(fake_embedder, s3, settings):
    configure(settings, ALLOWED_PREFIXES=["docs/help/"])
    put(s3, "internal/salaries.md", MARKDOWN)
    for prefix in ("", "internal/", "help"):  # "help" would also list "helpdesk-internal/..."
        with pytest.raises(CommandError, match="not inside the allowed prefixes \\(docs/help/\\)"):
            call_command("ingest_s3", "--bucket", "docs", "--prefix", prefix, "--shared")
    with pytest.raises(CommandError, match="not inside the allowed prefixes"):
        call_command("ingest_s3", "--bucket", "other-bucket", "--prefix", "help/", "--shared")
    assert KnowledgeDocument.objects.count() == 0


def test_an_allowed_folder_does_not_admit_a_sibling_with_the_same_start(fake_embedder, s3, settings):
    configure(settings, ALLOWED_PREFIXES=["docs/help"])  # written without the slash
    put(s3, "help/travel.html", HTML)
    put(s3, "helpdesk-internal/notes.md", MARKDOWN)
    report = s3_ingest(bucket="docs", prefix="help/", site_id=None)
    assert report.created == 1
    assert list(KnowledgeDocument.objects.values_list("key", flat=True)) == ["help/travel.html"]


def test_with_no_allow_list_ingest_is_switched_off(fake_embedder, s3, settings):
    configure(settings, ALLOWED_PREFIXES=[])
    put(s3, "a.md", MARKDOWN)
    with pytest.raises(CommandError, match="switched off.*AI_S3_INGEST_ALLOWED_PREFIXES"):
        call_command("ingest_s3", "--bucket", "docs", "--shared")
    assert KnowledgeDocument.objects.count() == 0


def test_without_a_public_url_base_ingest_is_refused(fake_embedder, s3, settings):
    configure(settings, PUBLIC_URL_BASE="")
    put(s3, "a.md", MARKDOWN)
    with pytest.raises(CommandError, match="no public URL for bucket 'docs'.*AI_S3_INGEST_PUBLIC_URL_BASE"):
        call_command("ingest_s3", "--bucket", "docs", "--shared")
    assert KnowledgeDocument.objects.count() == 0


def test_the_command_requires_site_or_shared(fake_embedder, s3, sites):
    put(s3, "a.md", MARKDOWN)
    with pytest.raises(CommandError, match="one of the arguments --site --shared is required"):
        call_command("ingest_s3", "--bucket", "docs")
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("ingest_s3", "--bucket", "docs", "--site", "www.example.org", "--shared")
    assert KnowledgeDocument.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "no-such.example.org"], "not a site id or hostname; known sites: .*www.example.org"),
        (["--site", "999999"], "not a site id or hostname"),
        (["--shared", "--locale", "xx-nope"], "--locale 'xx-nope' is not a Wagtail locale; known: en"),
        (["--shared", "--bucket", " "], "--bucket must not be empty"),
    ],
)
def test_bad_arguments_exit_non_zero_and_say_why(fake_embedder, s3, sites, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("ingest_s3", "--bucket", "docs", *args)


def test_a_refused_prefix_exits_non_zero_from_the_shell():
    """The refusal as an operator sees it: a non-zero exit status and the reason on stderr.
    It comes before any database or S3 access, so this runs against neither."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    env = {**os.environ, "AI_S3_INGEST_ALLOWED_PREFIXES": "docs/help/"}
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest_s3", "--bucket", "docs", "--prefix", "internal/", "--shared"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "s3://docs/internal/ is not inside the allowed prefixes (docs/help/)" in result.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"PUBLIC_BY": "everyone"}, "PUBLIC_BY'] must be one of acl, tag"),
        ({"PUBLIC_TAG": "public"}, "PUBLIC_TAG'] must look like 'key=value'"),
        ({"PUBLIC_URL_BASE": "files.example.org"}, "must be an http(s) URL"),
        ({"ALLOWED_PREFIXES": ["/"]}, "must be 'bucket' or 'bucket/folder/'"),
        ({"LEASE_SECONDS": 1}, "LEASE_SECONDS'] must be at least 5"),
    ],
)
def test_bad_s3_settings_fail_the_system_check(settings, values, message):
    from django.core.management.base import SystemCheckError

    configure(settings, **values)
    with pytest.raises(SystemCheckError, match="rag.E010") as excinfo:
        call_command("check")
    assert message in str(excinfo.value)
