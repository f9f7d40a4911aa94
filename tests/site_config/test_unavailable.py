"""An error that is the database being out of reach (a restart, a failover, a network cut ended by
DATABASE_NETWORK_TIMEOUT) is answered as the site being briefly unavailable: 503 with Retry-After,
JSON under /api/. Any other unhandled error stays a 500. Over HTTP with the network really cut:
tests/faults/test_network_cut.py."""

import pytest
from django.test import Client


@pytest.fixture
def client(settings):
    settings.ROOT_URLCONF = "tests.site_config.unreachable_urls"
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def test_an_api_call_that_loses_the_database_gets_a_json_503_with_retry_after(client):
    response = client.get("/api/ai/test-db-lost/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "unavailable"
    assert "Connection timed out" not in response.content.decode()  # no driver text to visitors


@pytest.mark.parametrize("url", ["/test-db-lost/", "/test-db-lost-wrapped/"])
def test_a_page_that_loses_the_database_gets_a_503_page(client, url):
    response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Briefly unavailable" in response.content.decode()


def test_any_other_error_is_still_a_server_error(client):
    response = client.get("/api/ai/test-bug/")
    assert response.status_code == 500
    assert "Internal server error" in response.content.decode()
