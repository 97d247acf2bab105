"""URLs, one module: links found on index pages, canonical article URLs and identity keys.

* ``clean_url`` turns a discovered ``href`` into an absolute, fragment-free, request-safe
  http(s) URL (``w3lib.url.safe_url_string`` does the percent-/IDNA-encoding), and
  ``site_domains``/``on_domains`` apply Scrapy's offsite rule to listing links;
* ``canonicalize_url`` picks the URL to store and display for a fetched article, and
  ``url_key`` is the identity the store is keyed on, so a spider can ask "do we know this
  article?" *before* spending a request on it; ``same_site`` is the one notion of "same site".

One article lives under many URLs: AMP pages, mobile hosts, tracking parameters, http/https,
``www.`` or not, and Arabic/Kurdish slugs written raw or percent-encoded. All functions are
deterministic, idempotent and network-free. ``clean_url`` and ``url_key`` run on every
discovered link, so the common cases avoid regexes and re-encoding when there is nothing to
change. Why not ``w3lib.url.canonicalize_url`` for the identity: see
``bench/parsers_vs_libraries.py`` (it keeps tracking parameters, AMP and mobile variants and
``www.``, so it would store one article several times).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string

__all__ = ["clean_url", "is_absolute_http", "site_domains", "on_domains", "canonicalize_url",
           "url_key", "same_site", "TRACKING_PARAMS", "display_url"]

# --------------------------------------------------------------------------- discovered links
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
    return host if host.isascii() else _idna(host)


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


# --------------------------------------------------------------------------- canonical URLs and keys
#: Query keys (compared lower-cased) that never identify content.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
    "igshid", "igsh", "yclid", "ysclid", "_ga", "_gl", "ref", "ref_src", "ref_url", "spm",
    "amp", "twclid", "ttclid", "li_fat_id", "mkt_tok", "_hsenc", "_hsmi", "hsctatracking",
    "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "vero_conv", "vero_id", "wickedid",
    "ncid", "ocid", "cmpid", "xtor", "wt.mc_id", "wt_mc_id", "guccounter", "guce_referrer",
    "guce_referrer_sig", "action_object_map", "action_type_map", "action_ref_map",
    "phpsessid", "jsessionid", "aspsessionid", "sr_share", "__twitter_impression",
})
#: Query key prefixes (lower-cased) of analytics campaigns.
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "piwik_", "fb_", "ga_", "hmb_")
#: ``key=amp`` marks an AMP rendering for these keys (``?outputType=amp``); other values stay.
_AMP_VALUE_KEYS = frozenset({"outputtype", "output", "format"})
#: Host prefixes of alternative renderings of the same site, mapped to the main host.
_ALT_HOST_PREFIXES = ("amp.", "m.", "mobile.")
_DEFAULT_PORTS = {"http": 80, "https": 443}

# RFC 3986 unreserved + sub-delims + ":@" stay raw in paths; "%" is kept because every "%" left
# at quoting time already starts a valid escape (stray ones are turned into %25 first).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
# In query keys/values "&", "=", "+" and ";" are structure: keep them escaped if they were.
_QUERY_SAFE = ":@!$'()*,/?-._~%+;="
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9/:@!$&'()*+,;=\-._~%]")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UTF8_ESCAPES = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SESSION_PATH_PARAM = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#]*", re.I)



@lru_cache(maxsize=1)
def _extractor():  # noqa: ANN202 - tldextract is imported only when a site is compared (~0.1 s)
    import tldextract
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # bundled list, offline


def canonicalize_url(url: str, *, declared: str | None = None) -> str:
    """The URL to store and display for an article fetched at ``url``.

    ``declared`` (the page's rel=canonical / og:url) wins when it is on the same site — a
    canonical pointing at another outlet (syndicated copy) or at the site's home page (a common
    CMS bug that would merge every article into one) is ignored. The result is then cleaned:
    fragment and tracking parameters dropped, remaining parameters sorted, AMP and mobile
    variants mapped to the normal article URL, percent-encoding made uniform (UTF-8 of the NFC
    text, upper-case hex), default port dropped, host lower-cased. A trailing slash is kept:
    the URL is shown to people and must keep working (``url_key`` folds it for identity).
    """
    url = url.strip()
    if declared:
        declared = declared.strip()
        if declared and not declared.lower().startswith(("http://", "https://")):
            declared = urljoin(url, declared)  # relative rel=canonical
        if declared and _usable_declared(url, declared):
            url = declared
    return _clean(url, keep_slash=True)


def url_key(url: str) -> str:
    """Identity key of an article URL: the canonical form without scheme and ``www.``.

    http/https and www/non-www collapse (sites serve the same article under all four), so the
    key is what the store de-duplicates on and what spiders look up before fetching.
    """
    return _key(url.strip())


def same_site(a: str, b: str) -> bool:
    """True when two URLs are on the same registrable domain (``m.``/``www.`` ignored).

    IP addresses and single-label hosts (``localhost``) have no registrable domain: there the
    host *and port* must match (the fixture web serves each outlet on its own loopback port)."""
    return _site(a) == _site(b) != ""


# --------------------------------------------------------------------------- internals
@lru_cache(maxsize=65536)
def _key(url: str) -> str:
    canonical = _clean(url)
    lowered = canonical[:8].lower()
    if lowered.startswith("https://"):
        canonical = canonical[8:]
    elif lowered.startswith("http://"):
        canonical = canonical[7:]
    if canonical.startswith("www."):
        canonical = canonical[4:]
    return canonical


def _usable_declared(url: str, declared: str) -> bool:
    if not declared.lower().startswith(("http://", "https://")):
        return False
    if not same_site(url, declared):
        return False
    declared_path = urlsplit(declared).path.strip("/")
    return bool(declared_path) or not urlsplit(url).path.strip("/")


def _site(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    registered = _registrable(host)
    if registered:
        return registered
    return f"{host}:{port or _DEFAULT_PORTS.get(parts.scheme.lower(), '')}"


@lru_cache(maxsize=4096)
def _registrable(host: str) -> str:
    result = _extractor()(host)
    return result.top_domain_under_public_suffix if result.suffix else ""


def _clean(url: str, keep_slash: bool = False) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        return url.split("#", 1)[0]
    netloc = _clean_netloc(parts.netloc, scheme)
    path = _clean_path(parts.path, keep_slash)
    query = _clean_query(parts.query) if parts.query else ""
    return f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"


def _clean_netloc(netloc: str, scheme: str) -> str:
    netloc = netloc.rpartition("@")[2]  # credentials never identify an article
    host, port = netloc, ""
    if netloc.startswith("["):  # IPv6 literal
        end = netloc.find("]")
        host, port = netloc[:end + 1], netloc[end + 2:] if netloc[end + 1:end + 2] == ":" else ""
    elif ":" in netloc:
        host, _, port = netloc.rpartition(":")
    host = host.lower().rstrip(".")
    if not host.isascii():
        host = _idna(host)
    stripped = True
    while stripped:
        stripped = False
        for prefix in _ALT_HOST_PREFIXES:
            if host.startswith(prefix) and "." in host[len(prefix):]:
                host = host[len(prefix):]
                stripped = True
    if port.isdigit():
        port = "" if int(port) == _DEFAULT_PORTS[scheme] else str(int(port))
    return f"{host}:{port}" if port else host


def _idna(host: str) -> str:
    try:
        return ".".join(label.encode("idna").decode("ascii") if not label.isascii() else label
                        for label in unicodedata.normalize("NFC", host).split("."))
    except UnicodeError:
        return host


def _clean_path(path: str, keep_slash: bool = False) -> str:
    if not path or path == "/":
        return "/"
    if ";" in path:
        path = _SESSION_PATH_PARAM.sub("", path)
    if "%" in path or not path.isascii() or _NEEDS_QUOTING.search(path):
        path = _normalize_escapes(path, _PATH_SAFE)
    if "//" in path:
        path = re.sub(r"/{2,}", "/", path)
    segments = path.split("/")
    if "." in segments or ".." in segments:
        segments = _remove_dot_segments(segments)
    if "amp" in path.lower():
        segments = _drop_amp(segments)
    trailing = keep_slash and len(segments) > 1 and segments[-1] == ""
    path = "/".join(segments).rstrip("/")
    if not path.startswith("/"):
        path = "/" + path
    return path + "/" if trailing and path != "/" else path


def _remove_dot_segments(segments: list[str]) -> list[str]:
    out: list[str] = []
    for seg in segments:
        if seg == ".":
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            continue
        out.append(seg)
    return out


def _drop_amp(segments: list[str]) -> list[str]:
    """``/amp/x``, ``/x/amp/``, ``/x.amp``, ``/x.amp.html`` → the article's own path."""
    content = [s for s in segments if s]
    if len(content) > 1:
        segments = [s for s in segments if s.lower() != "amp"]
    last = len(segments) - 1
    while last > 0 and not segments[last]:
        last -= 1
    seg = segments[last]
    lowered = seg.lower()
    for suffix, replacement in ((".amp.html", ".html"), (".amp.htm", ".htm"), (".amp", "")):
        if lowered.endswith(suffix) and len(seg) > len(suffix):
            segments[last] = seg[: -len(suffix)] + replacement
            break
    return segments


def _clean_query(query: str) -> str:
    kept: list[tuple[str, str]] = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, eq, value = pair.partition("=")
        lowered = key.lower()
        if lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES):
            continue
        if lowered in _AMP_VALUE_KEYS and value.lower() == "amp":
            continue
        if "%" in pair or not pair.isascii() or _NEEDS_QUOTING.search(pair):
            key = _normalize_escapes(key, _QUERY_SAFE)
            value = _normalize_escapes(value, _QUERY_SAFE)
        kept.append((key, f"{key}={value}" if eq else key))
    kept.sort()
    return "&".join(item for _, item in kept)


def _normalize_escapes(text: str, safe: str) -> str:
    """One spelling per component: UTF-8 escapes decoded and NFC-normalised, then everything
    outside ``safe`` re-encoded; escapes of unreserved ASCII decoded, other ASCII escapes (e.g.
    ``%2F`` inside a segment) kept, upper-cased. Invalid UTF-8 escapes are kept as they are."""
    if "%" in text:
        text = _STRAY_PERCENT.sub("%25", text)
        text = _UTF8_ESCAPES.sub(_decode_utf8_run, text)
        text = _ESCAPE.sub(_ascii_escape, text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return quote(text, safe=safe)


def _decode_utf8_run(match: re.Match[str]) -> str:
    run = match.group()
    try:
        decoded = bytes.fromhex(run.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return run.upper()
    # A decoded character that is itself "%" cannot occur (all bytes >= 0x80).
    return decoded


def _ascii_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    if char in _UNRESERVED:
        return char
    return "%" + match.group(1).upper()


# --------------------------------------------------------------------------- display
def display_url(url: str | None) -> str:
    """``url`` as a reader wants it in a log line or a mail: percent-encoded UTF-8 (Arabic and
    Kurdish slugs) decoded; ASCII escapes (``%2F``, ``%20``, ``%3F`` …), invalid UTF-8 and
    escapes of invisible or direction-changing characters kept as they are. For display only:
    never store or request the result."""
    if not url or "%" not in url:
        return url or ""
    return _UTF8_ESCAPES.sub(_display_run, url)


def _display_run(match: re.Match[str]) -> str:
    run = match.group()
    try:
        decoded = bytes.fromhex(run.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return run
    if any(unicodedata.category(ch)[0] in "CZ" for ch in decoded):
        return run          # a space, control or bidi mark would make the URL misleading
    return decoded
