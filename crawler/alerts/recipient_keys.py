"""Recipient keys that can be stored, logged and shown: Apprise URLs carry bot tokens.

An e-mail recipient's key is its address. An Apprise recipient's key is its scheme and a short
hash of the whole URL, ``apprise:tgram://…#1f2e3d4c5b6a``: stable (the ledger's unique key and
Message-IDs depend on it), distinct per target, and free of any secret. The URL itself lives
only in alerts.yaml and in memory; :func:`secret_fragments` lists its parts so that log lines
of the Apprise library (and of urllib3 below it) can be redacted.
"""
from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

APPRISE_PREFIX = "apprise:"
_REDACTED = re.compile(r"^apprise:[A-Za-z][A-Za-z0-9+.-]*://…#[0-9a-f]{12}$")
_SPLIT = re.compile(r"[/:@?&=#,;+\s]+")
MIN_FRAGMENT = 6          # shorter parts (ports, short chat ids) are not worth hiding


def apprise_key(url: str) -> str:
    """``tgram://123:ABC/-100`` → ``apprise:tgram://…#<12 hex>`` (sha-256 of the URL)."""
    scheme = url.split("://", 1)[0] if "://" in url else "apprise"
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        scheme = "apprise"
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    return f"{APPRISE_PREFIX}{scheme.lower()}://…#{digest}"


def is_redacted(key: str) -> bool:
    return bool(_REDACTED.match(key))


def ledger_key(key: str | None) -> str | None:
    """A stored recipient key in its safe form: an old raw ``apprise:<url>`` key (databases
    before schema v6) becomes :func:`apprise_key`; anything else is returned unchanged."""
    if not key or not key.startswith(APPRISE_PREFIX) or is_redacted(key):
        return key
    return apprise_key(key[len(APPRISE_PREFIX):])


def secret_fragments(url: str) -> list[str]:
    """The parts of an Apprise URL that may be secret (tokens, passwords, ids, hosts), longest
    first, each also percent-encoded: what a log filter must replace."""
    rest = url.split("://", 1)[1] if "://" in url else url
    parts = {p for p in _SPLIT.split(rest) if len(p) >= MIN_FRAGMENT}
    if "/" in rest:
        netloc = rest.split("/", 1)[0]
        if len(netloc) >= MIN_FRAGMENT:
            parts.add(netloc)
    parts.add(rest)
    forms = set(parts) | {quote(p, safe="") for p in parts}
    return sorted(forms, key=len, reverse=True)
