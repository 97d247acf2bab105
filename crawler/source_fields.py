"""The checks of one ``sources.yaml`` entry's structured fields — its URLs, an ``api:`` block,
``headers:``, ``user_agent``, a ``ca_bundle`` file — each answering ``problem — fix`` for
``crawler.config.load_sources`` to place at the entry's ``file:line``. Plain functions over
plain values: no file, no line numbers, no dataclasses here.
"""
from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

#: Keys of a source's ``api:`` block (kind api): where a JSON listing keeps its items and
#: which item fields hold what. Paths are dotted (``Data.CategoryNews.Articles``; a number
#: indexes a list).
API_KEYS = ("items", "link", "title", "body", "summary", "date", "max_page", "first_page")
API_REQUIRED = ("items", "link")
_API_PATH_RE = re.compile(r"^[A-Za-z0-9_$@:-]+(\.[A-Za-z0-9_$@:-]+)*$")
#: Request headers a source may set (what outlets' APIs and CDNs are known to look at). The
#: crawler owns the rest: Host, cookies, conditional GET validators, encodings, User-Agent
#: (that one has its own field, ``user_agent``).
HEADER_NAMES = ("Accept", "Accept-Language", "Referer", "Origin", "X-Requested-With",
                "Cache-Control", "Pragma", "DNT", "Sec-Fetch-Dest", "Sec-Fetch-Mode",
                "Sec-Fetch-Site", "Sec-Fetch-User", "Upgrade-Insecure-Requests")
_HEADER_VALUE_MAX = 1000
_USER_AGENT_MAX = 400


def url_problem(url: Any) -> str | None:
    if not isinstance(url, str):
        return "is not a string"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host name"
    return None



def api_problems(api: Any) -> list[tuple[str | None, str]]:
    """What is wrong with an ``api:`` block (kind api): (key or None, problem — fix)."""
    if not isinstance(api, dict):
        return [(None, "'api' must be a mapping — e.g. {items: Data.Articles, link: Link, "
                       "title: Title, date: Date}")]
    out: list[tuple[str | None, str]] = []
    for key in api:
        if key not in API_KEYS:
            out.append((key, f"unknown api key '{key}' — valid: " + ", ".join(API_KEYS)))
    for key in API_REQUIRED:
        if key not in api:
            out.append((None, f"api has no '{key}' — say where the item list and each item's "
                              "link are, e.g. items: Data.CategoryNews.Articles, link: Link"))
    for key, value in api.items():
        if key == "first_page":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
                out.append((key, f"api 'first_page' is {value!r} — write the number of the "
                                 "first page as a whole number from 0 to 1,000,000 (usually 1)"))
        elif key in API_KEYS and (not isinstance(value, str) or not _API_PATH_RE.match(value)):
            out.append((key, f"api '{key}' is {value!r} — write a field name or a dotted path "
                             "such as Data.CategoryNews.Articles"))
    return out


def header_problems(headers: Any) -> list[tuple[str | None, str]]:
    """What is wrong with a source's ``headers:``: (header or None, problem — fix)."""
    if not isinstance(headers, dict):
        return [(None, "'headers' must be a mapping — e.g. {Accept: application/json}")]
    out: list[tuple[str | None, str]] = []
    allowed = {h.lower() for h in HEADER_NAMES}
    for name, value in headers.items():
        if not isinstance(name, str) or name.lower() not in allowed:
            fix = "use the source's 'user_agent' field" if str(name).lower() == "user-agent" \
                else "allowed: " + ", ".join(HEADER_NAMES)
            out.append((name, f"header {name!r} cannot be set per source — {fix}"))
        elif not isinstance(value, str) or not value.strip():
            out.append((name, f"header '{name}' is {value!r} — write its value as text"))
        elif len(value) > _HEADER_VALUE_MAX or any(c in value for c in "\r\n\0"):
            out.append((name, f"header '{name}' is not one line of at most {_HEADER_VALUE_MAX} "
                              "characters — shorten it, without line breaks"))
        elif not value.isascii():
            out.append((name, f"header '{name}' is not ASCII — HTTP headers are; "
                              "percent-encode a Referer URL"))
    return out


def user_agent_problem(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return f"'user_agent' is {value!r} — write the User-Agent as text"
    if len(value) > _USER_AGENT_MAX or any(c in value for c in "\r\n\0") or not value.isascii():
        return (f"'user_agent' is not one ASCII line of at most {_USER_AGENT_MAX} characters — "
                "shorten it ({contact_url} is replaced by the contact URL)")
    return None


def ca_bundle_problem(path: str) -> str | None:
    """What is wrong with a source's ``ca_bundle`` file; None when OpenSSL can load it."""
    import ssl
    if not os.path.isfile(path):
        return (f"ca_bundle {path!r} does not exist — give the path of a PEM file of CA "
                "certificates")
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return (f"ca_bundle {path!r} is not a PEM file of CA certificates ({exc}) — export "
                "the CA as PEM ('-----BEGIN CERTIFICATE-----' blocks)")
    return None
