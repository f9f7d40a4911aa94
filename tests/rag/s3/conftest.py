"""moto's S3 server over HTTP on 127.0.0.1 and the settings that allow the "docs" bucket (autouse
here, so only for the S3 ingest tests), plus two Wagtail sites to scope documents to."""

from __future__ import annotations

import boto3
import pytest
from moto.server import ThreadedMotoServer

from .helpers import PUBLIC_BASE


@pytest.fixture(scope="module")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def s3_settings(settings):
    """The whole "docs" bucket allowed, public by ACL, cited under PUBLIC_BASE."""
    settings.AI_CORE = {
        **settings.AI_CORE,
        "S3_INGEST": {
            **settings.AI_CORE["S3_INGEST"],
            "ALLOWED_PREFIXES": ["docs"],
            "PUBLIC_BY": "acl",
            "PUBLIC_URL_BASE": PUBLIC_BASE,
        },
    }
    return settings


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """Credentials and endpoint through the environment, as in production."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    client = boto3.client("s3")
    client.create_bucket(Bucket="docs")
    yield client
    for obj in client.list_objects_v2(Bucket="docs").get("Contents", []):
        client.delete_object(Bucket="docs", Key=obj["Key"])
    client.delete_bucket(Bucket="docs")


@pytest.fixture
def sites(db):
    from wagtail.models import Locale, Page, Site

    Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    Site.objects.all().delete()
    main = Site.objects.create(hostname="www.example.org", root_page=root, is_default_site=True)
    other = Site.objects.create(hostname="intranet.example.org", root_page=root)
    return main, other
