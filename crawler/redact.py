"""Secrets out of everything Chavder prints: the password part of a URL's userinfo.

A store URL such as ``http://elastic:Pw…@es:9200`` (or a feed behind basic auth) is printed in
log lines, status output and error messages. :func:`redact_url` is the one function that makes
a URL printable; :func:`redact_text` applies it to every URL inside free text (exception
messages, third-party log lines), and the log formatters (``crawler.logs.setup_logging``) pass
every formatted line through it, so a message nobody thought of cannot leak either.

The user name is kept (``elastic:***@es:9200``): it is not a secret and says which account
failed; the password is replaced by ``***``.
"""
from __future__ import annotations

import re
from typing import Any

MASK = "***"
# scheme://userinfo@ — userinfo runs to the LAST '@' before the path, query, fragment, the end
# of the URL (white space, angle or square brackets) or a backslash; like urlsplit, which also
# takes the last '@', so an unencoded '@' (or quote) inside a password is still covered.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)"
                       r"(?P<userinfo>[^\s/?#<>\\\[\]]+)@")


def _mask(match: re.Match[str]) -> str:
    user, sep, _ = match["userinfo"].partition(":")
    return f"{match['scheme']}{user}:{MASK}@" if sep else match[0]


def redact_url(url: str) -> str:
    """``url`` with the password of its userinfo replaced by ``***``; anything else unchanged."""
    return _USERINFO.sub(_mask, url, count=1) if "@" in url else url


def redact_text(text: str) -> str:
    """Every URL password in ``text`` replaced by ``***``."""
    return _USERINFO.sub(_mask, text) if "@" in text and "://" in text else text


def redact_data(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with every string passed through
    :func:`redact_text` — before ``json.dumps``, whose escaping could hide a URL."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value
