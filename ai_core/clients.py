"""Who is asking: one key per client for rate limits, budgets and stream caps.

Limits keyed on ``REMOTE_ADDR`` fail two ways. Behind a reverse proxy every visitor has the proxy's
address, so the whole site shares one limit; and an IPv6 visitor holds a whole /64 (often more), so
counting single addresses gives one crowd 2**64 fresh limits. ``client_key`` fixes both:

- ``X-Forwarded-For`` is read only when the peer (``REMOTE_ADDR``) is one of
  ``AI_CORE["TRUSTED_PROXIES"]`` (addresses or networks; empty by default, so a visitor can never
  pick their own address by sending the header). The client is the right-most address in the header
  that is not itself a trusted proxy: everything left of it was written by the client and proves
  nothing.
- IPv6 addresses collapse to their /64 (the network address, still a valid IP so it fits
  ``GenericIPAddressField``); IPv4-mapped IPv6 (``::ffff:192.0.2.1``) counts as the IPv4 address.

Pure helpers first (no Django), then the one function that reads a request and the settings.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IPV6_PREFIX = 64


class InvalidTrustedProxyError(ValueError):
    pass


def parse_address(value: str | None) -> IPAddress | None:
    """An address as proxies write it (``192.0.2.1``, ``192.0.2.1:443``, ``[2001:db8::1]:443``),
    IPv4-mapped IPv6 unwrapped; ``None`` when it is not an address (``unknown``, an obfuscated
    RFC 7239 identifier, garbage)."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has at least two colons
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]  # a zone id (fe80::1%eth0) names no different client
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_trusted_proxies(entries: Iterable[Any]) -> tuple[IPNetwork, ...]:
    """``["10.0.0.5", "172.16.0.0/12", "2001:db8::/48"]`` -> networks. Host bits set in a network
    (``10.0.0.5/8``) are refused rather than guessed: the author meant one of two different things."""
    networks = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise InvalidTrustedProxyError(f"{entry!r} is not an IP address or network.")
        try:
            network = ipaddress.ip_network(entry.strip(), strict=True)
        except ValueError as err:
            raise InvalidTrustedProxyError(f"{entry!r} is not an IP address or network: {err}.") from err
        if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None:
            mapped = network.network_address.ipv4_mapped
            network = ipaddress.ip_network(f"{mapped}/{max(0, network.prefixlen - 96)}", strict=False)
        networks.append(network)
    return tuple(networks)


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def client_address(
    *, remote_addr: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    """The client's address: the peer, or (only from a trusted peer) the right-most address in
    ``X-Forwarded-For`` that is not a trusted proxy. ``None`` when the peer has no address."""
    peer = parse_address(remote_addr)
    if peer is None or not forwarded_for or not _trusted(peer, trusted_proxies):
        return peer
    nearest = peer  # the closest hop we know for certain
    for hop in reversed(forwarded_for.split(",")):
        address = parse_address(hop)
        if address is None:
            # A trusted proxy appends the address it saw, which is never garbage: this part was
            # written by someone else, so stop at the last hop a trusted proxy vouched for.
            return nearest
        if not _trusted(address, trusted_proxies):
            return address
        nearest = address
    return nearest  # every hop is a proxy of ours: the request started inside


def address_key(address: IPAddress | None) -> str:
    """IPv4 as is; IPv6 as the network address of its /64. Empty for no address."""
    if address is None:
        return ""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False).network_address)
    return str(address)


@functools.lru_cache(maxsize=8)
def _cached_proxies(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_trusted_proxies(entries)


def trusted_proxies() -> tuple[IPNetwork, ...]:
    """``AI_CORE["TRUSTED_PROXIES"]``, parsed (cached per distinct value, so ``override_settings``
    still works). A malformed entry raises; the system check ``budgets.E002`` reports it first."""
    from ai_core import conf

    raw = conf.setting_or_none("TRUSTED_PROXIES") or ()
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    return _cached_proxies(tuple(raw))


def client_key(request) -> str:
    """The key that rate limits, budgets and stream caps count a visitor's requests under: the
    client's address (see the module docstring), IPv6 collapsed to its /64. Empty when the peer
    has no usable address (a Unix socket without a proxy header)."""
    meta = request.META
    address = client_address(
        remote_addr=meta.get("REMOTE_ADDR"),
        forwarded_for=meta.get("HTTP_X_FORWARDED_FOR"),
        trusted_proxies=trusted_proxies(),
    )
    return address_key(address)
