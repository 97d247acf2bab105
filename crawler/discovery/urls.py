"""URL clean-up for discovered links: absolute, fragment-free, request-safe, on the right site."""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string

_CONTROL = re.compile(r"[\t\n\r]")
# Already-clean absolute URLs (the common case in feeds and sitemaps) skip urljoin/w3lib: they
# would come back unchanged. Lowercase scheme and host, no dot segments, no fragment, only
# characters safe_url_string leaves alone.
_PCT = r"%[0-9A-Fa-f]{2}"
_PATHCHAR = rf"(?:[A-Za-z0-9\-_~!$&'()*+,=:@/]|\.(?!\.?(?:/|$|\?))|{_PCT})"
_QUERYCHAR = rf"(?:[A-Za-z0-9\-_~!$&()*+,;=:@/?.]|{_PCT})"
_CLEAN_ABSOLUTE = re.compile(
    rf"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::[0-9]{{1,5}})?(?:/{_PATHCHAR}*(?:\?{_QUERYCHAR}+)?)?")
_ABSOLUTE = re.compile(r"^https?://", re.I)


@lru_cache(maxsize=8192)           # listing cards repeat the same href two or three times
def clean_url(href: str | None, base: str) -> str | None:
    """Resolve ``href`` against ``base``; http(s) only, fragment dropped, non-ASCII paths and
    hosts percent-/IDNA-encoded (``w3lib.url.safe_url_string``) so the URL is valid in a request.

    Returns None for empty, fragment-only, ``javascript:``/``mailto:``/``file:``/``data:`` and
    unparseable links."""
    if not href:
        return None
    href = _CONTROL.sub("", href.strip())
    if not href or href.startswith("#"):
        return None
    if _CLEAN_ABSOLUTE.fullmatch(href):
        return href
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        return safe_url_string(urlunsplit(parts._replace(fragment="")))
    except (ValueError, UnicodeError):
        return None


def is_absolute_http(text: str | None) -> bool:
    """For ids that may or may not be links (RSS guid, Atom id): only absolute http(s) counts."""
    return bool(text and _ABSOLUTE.match(text.strip()))


def _ascii_host(host: str) -> str:
    host = host.strip().strip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def site_domains(base_url: str, allowed_domains: Sequence[str] = ()) -> tuple[str, ...]:
    """Domains a listing may link to: ``allowed_domains`` if given, else the base host without
    ``www.`` (so ``www.rudaw.net`` also admits ``rudaw.net`` and ``m.rudaw.net``)."""
    if allowed_domains:
        return tuple(_ascii_host(d) for d in allowed_domains if d.strip())
    host = urlsplit(base_url).hostname or ""
    host = _ascii_host(host)
    return (host[4:] if host.startswith("www.") else host,)


def on_domains(url: str, domains: Sequence[str]) -> bool:
    """Scrapy's offsite rule: the host equals a domain or is a subdomain of it."""
    host = _ascii_host(urlsplit(url).hostname or "")
    return any(host == d or host.endswith("." + d) for d in domains)
