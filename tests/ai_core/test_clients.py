"""The client key that limits count a visitor under: proxies believed only when listed, IPv6 per /64."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import RequestFactory

from ai_core.budgets.checks import check_trusted_proxies
from ai_core.clients import (
    InvalidTrustedProxyError,
    address_key,
    client_address,
    client_key,
    parse_address,
    parse_trusted_proxies,
)

PROXIES = parse_trusted_proxies(["10.0.0.5", "172.16.0.0/12", "2001:db8:ffff::/48"])


def _key(remote: str, forwarded: str | None = None, proxies=PROXIES) -> str:
    return address_key(client_address(remote_addr=remote, forwarded_for=forwarded, trusted_proxies=proxies))


def test_every_address_of_one_ipv6_64_shares_one_key():
    assert _key("2001:db8:1:2::1") == _key("2001:db8:1:2:ffff:ffff:ffff:fffe") == "2001:db8:1:2::"
    assert _key("2001:db8:1:3::1") != _key("2001:db8:1:2::1")


def test_ipv4_is_kept_whole_and_ipv4_mapped_ipv6_counts_as_ipv4():
    assert _key("192.0.2.7") == "192.0.2.7"
    assert _key("::ffff:192.0.2.7") == "192.0.2.7"


def test_forwarded_for_is_ignored_by_default_and_from_an_untrusted_peer():
    assert _key("198.51.100.9", "203.0.113.1", proxies=()) == "198.51.100.9"
    assert _key("198.51.100.9", "203.0.113.1") == "198.51.100.9"


def test_a_trusted_proxy_is_believed_and_the_right_most_untrusted_hop_is_the_client():
    assert _key("10.0.0.5", "203.0.113.1") == "203.0.113.1"
    # The visitor wrote "1.1.1.1" themself; the proxies appended the rest.
    assert _key("10.0.0.5", "1.1.1.1, 203.0.113.1, 172.16.3.4") == "203.0.113.1"
    assert _key("2001:db8:ffff::1", "2001:db8:9:9::42") == "2001:db8:9:9::"


def test_garbage_in_the_header_stops_at_the_last_hop_a_proxy_vouched_for():
    assert _key("10.0.0.5", "203.0.113.1, unknown, 172.16.0.9") == "172.16.0.9"
    assert _key("10.0.0.5", "nonsense") == "10.0.0.5"


def test_ports_and_brackets_that_some_proxies_add_are_understood():
    assert parse_address("203.0.113.1:4711") == parse_address("203.0.113.1")
    assert str(parse_address("[2001:db8::1]:443")) == "2001:db8::1"
    assert parse_address("") is None and parse_address("_hidden") is None


def test_a_request_is_keyed_by_settings(rf: RequestFactory, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.1")
    settings.AI_CORE = {**settings.AI_CORE, "TRUSTED_PROXIES": []}
    assert client_key(request) == "10.0.0.5"
    settings.AI_CORE = {**settings.AI_CORE, "TRUSTED_PROXIES": ["10.0.0.0/8"]}
    assert client_key(request) == "203.0.113.1"


@pytest.mark.parametrize("entry", ["10.0.0.300", "10.0.0.5/8", "proxy.internal", "", 42])
def test_a_malformed_trusted_proxy_is_refused(entry):
    with pytest.raises(InvalidTrustedProxyError):
        parse_trusted_proxies([entry])


def test_the_system_check_names_a_malformed_trusted_proxy(settings):
    settings.AI_CORE = {**settings.AI_CORE, "TRUSTED_PROXIES": ["10.0.0.5", "10.0.0.0/33"]}
    messages = check_trusted_proxies()
    assert [m.id for m in messages] == ["budgets.E002"]
    assert "10.0.0.0/33" in messages[0].msg
    with pytest.raises(SystemCheckError, match="10.0.0.0/33"):
        call_command("check")


def test_the_system_check_passes_the_default_and_good_entries(settings):
    assert check_trusted_proxies() == []
    settings.AI_CORE = {**settings.AI_CORE, "TRUSTED_PROXIES": ["::ffff:10.0.0.0/104", "2001:db8::/32"]}
    assert check_trusted_proxies() == []
