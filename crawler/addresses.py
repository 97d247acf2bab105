"""Which hosts and addresses count as private: one definition for config validation, the
downloader's connect-time address policy and the spiders' link filter.

Hosts are first normalised the way the URL stack does before it connects (w3lib's
``safe_url_string`` applies IDNA, i.e. NFKC + case folding): ``１２７.０.０.２`` (full-width
digits) and ``127。0.0.1`` (ideographic full stop) *are* 127.0.0.2 and 127.0.0.1 on the wire, so
they must be judged as such.

Besides dotted quads and IPv6 literals, browsers and the C resolver accept the legacy IPv4 forms
``2130706433``, ``127.1``, ``0x7f000001`` and ``0177.0.0.1`` — all 127.0.0.1. They are a
classic way around naive private-address filters, so they are decoded here the same way
``inet_aton`` decodes them. IPv6 addresses that embed an IPv4 address (IPv4-mapped
``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, IPv4-translated ``::ffff:0:a.b.c.d``, NAT64
``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo ``2001::/32``) are judged by
the IPv4 address they carry, because that is where such a packet ends up.
"""
from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}", re.I)
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})   # IDNA label separators
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_EMBEDDED_V4 = (ipaddress.IPv6Network("::/96"),              # IPv4-compatible (deprecated)
                ipaddress.IPv6Network("::ffff:0:0:0/96"))    # IPv4-translated (SIIT)


def normalize_host(host: str) -> str:
    """The host as the URL stack will connect to it: brackets and a trailing dot removed,
    NFKC-normalised, case-folded and IDNA-encoded (``bücher.example`` → ``xn--bcher-kva…``)."""
    name = unicodedata.normalize("NFKC", host.strip().strip("[]")).translate(_DOTS)
    name = name.lower().rstrip(".")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            pass   # not a valid IDN: judged as typed (it cannot resolve anyway)
    return name


def parse_ip(host: str) -> IPAddress | None:
    """The IP address a URL host denotes, or None for a host name."""
    host = normalize_host(host)
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


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, translated, NAT64,
    6to4, Teredo client), or None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64 + _EMBEDDED_V4) and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_private_ip(ip: IPAddress) -> bool:
    """True for every address a crawler of the public web has no business connecting to:
    loopback, RFC 1918, link-local, unspecified, CGNAT (100.64/10), multicast, reserved,
    documentation/benchmark ranges — and IPv6 forms that embed one of those."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return True
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_private_ip(inner)
    return (not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_loopback
            or ip.is_link_local or ip.is_unspecified)


def is_private_host(host: str) -> bool:
    """True for ``localhost`` names and every private IP literal, in any notation. (A host
    *name* is judged where it is resolved: see ``crawler.download``.)"""
    name = normalize_host(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = parse_ip(name)
    return ip is not None and is_private_ip(ip)


def host_in_domains(host: str, domains: Iterable[str]) -> bool:
    """True when ``host`` is one of ``domains`` or a subdomain of one (Scrapy's offsite rule),
    both sides normalised. No domains means no restriction."""
    name = normalize_host(host)
    wanted = [normalize_host(d) for d in domains if d and d.strip()]
    if not wanted:
        return True
    return any(name == d or name.endswith("." + d) for d in wanted)


class PrivateAddress(ValueError):
    """Every address a host resolved to is private, and the source may not reach it."""


def pick_address(host: str, addresses: list[IPAddress], allow_private: bool) -> IPAddress:
    """The address to connect to for ``host`` (resolved to ``addresses``, not empty): the
    first one the source may reach. One rule and one wording for the plain fetcher
    (crawler/download.py) and the browser's proxy (crawler/browser_proxy.py)."""
    allowed = [ip for ip in addresses if allow_private or not is_private_ip(ip)]
    if allowed:
        return allowed[0]
    shown = normalize_host(host)
    if shown == str(addresses[0]):
        raise PrivateAddress(f"refused: {shown} is a private address (not allowed for this "
                             "source)")
    raise PrivateAddress(f"refused: {shown} resolves to private address {addresses[0]}")
