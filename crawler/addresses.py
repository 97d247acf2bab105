"""Which hosts count as private: one definition for config validation, the downloader's address
policy and the spiders' link filter.

Besides dotted quads and IPv6 literals, browsers and the C resolver accept the legacy IPv4 forms
``2130706433``, ``127.1``, ``0x7f000001`` and ``0177.0.0.1`` — all 127.0.0.1. They are a
classic way around naive private-address filters, so they are decoded here the same way
``inet_aton`` decodes them.
"""
from __future__ import annotations

import ipaddress
import re
import socket

_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}", re.I)


def parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a URL host denotes, or None for a host name."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_private_host(host: str) -> bool:
    """True for ``localhost`` names and every non-global IP literal (loopback, RFC 1918,
    link-local, unspecified, …), in any notation."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = parse_ip(name)
    return ip is not None and not ip.is_global
