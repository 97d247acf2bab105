"""Bytes → text for HTML pages, including undeclared legacy Arabic encodings.

Order of evidence (as browsers do, read with w3lib's WHATWG-style helpers): byte-order mark,
HTTP ``Content-Type`` charset, ``<meta charset>`` / ``http-equiv`` or XML declaration. With no
declaration, strict UTF-8 is tried first and then the legacy Arabic code pages (windows-1256,
ISO-8859-6) are scored by how much the result looks like Arabic: the share of Arabic letters
among non-ASCII characters plus hits on very common Arabic words. Byte-level guessers (chardet and friends) confuse these two code pages with Cyrillic
and Greek ones on short news pages; the word score does not.

Why not plain ``w3lib.encoding.html_to_unicode``: on 32 Arabic fixture pages served in 8 ways
(bench/parsers_vs_libraries.py) it decodes 64 of 256 right, this module 248 — it trusts labels
that old Arabic sites get wrong and has no Arabic guess.

A page that *declares* UTF-8 but contains some invalid bytes is decoded with replacement characters
(one bad byte must not lose an article), unless it is mostly invalid and a legacy code page reads
clearly better — a common misconfiguration of old Arabic sites.
"""
from __future__ import annotations

import codecs
import re

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

#: WHATWG: pages labelled Latin-1/ASCII are decoded as windows-1252.
_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252", "latin-1": "cp1252",
            "iso8859-8-i": "iso8859-8", "x-mac-arabic": "mac-arabic"}
_LEGACY_ARABIC = ("cp1256", "iso8859-6")
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")
#: Very common Arabic function words; a right code page produces many of them.
_COMMON_WORDS = frozenset(
    "في من على إلى الى أن ان عن مع التي الذي هذا هذه قد كان بعد بين حيث وقال قال كما ذلك لا ما أو "
    "او عام خلال".split())
#: Maximal runs of the Arabic block: a common word counts only as a whole run (a word on its own).
_ARABIC_RUN = re.compile("[\u0600-\u06ff]+")


def _codec(label: str | None) -> str | None:
    """A Python codec name for an encoding label, or None when unknown or not ASCII-compatible
    for our purposes (UTF-16 labels inside a byte stream without BOM are lies)."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    name = _ALIASES.get(name, name)
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # a page that reached us as bytes with a utf-16 <meta> is really UTF-8
    return name


def declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The encoding the response declares (BOM, then HTTP header, then ``<meta>``/XML
    declaration, read by w3lib as WHATWG's prescan does: comments skipped, first 4 KB, up to
    ``<body>``), as a Python codec; ``utf-8-sig``/``utf-16``/``utf-32`` for a byte-order mark."""
    bom, _ = read_bom(body)
    if bom:
        return "utf-8-sig" if bom == "utf-8" else bom.rsplit("-", 1)[0]
    codec = _codec(http_content_type_encoding(content_type))
    return codec or _codec(html_body_declared_encoding(body))


def _non_ascii(text: str) -> int:
    """Characters outside ASCII (an encode in C: ~100x faster than a regex count)."""
    return len(text) - len(text.encode("ascii", "ignore"))


def arabic_score(text: str) -> float:
    """How much ``text`` looks like correctly decoded Arabic (higher is better)."""
    non_ascii = _non_ascii(text)
    if not non_ascii:
        return 0.0
    letters = len(_ARABIC_LETTER.findall(text))
    bad = text.count("\ufffd")
    words = sum(run in _COMMON_WORDS for run in _ARABIC_RUN.findall(text))
    return letters / non_ascii + min(words / max(non_ascii / 40, 1.0), 1.0) - 3 * bad / non_ascii


def _sniff_legacy(body: bytes) -> tuple[str, str]:
    """Best legacy Arabic decoding of bytes that are not valid UTF-8."""
    sample = body[:200_000]
    best = ("", "utf-8", -1e9)
    for codec in _LEGACY_ARABIC:
        score = arabic_score(sample.decode(codec, "replace"))
        if score > best[2]:
            best = ("", codec, score)
    utf8_score = arabic_score(sample.decode("utf-8", "replace"))
    codec = best[1] if best[2] > utf8_score else "utf-8"
    return body.decode(codec, "replace"), codec


def _is_multibyte_utf8(body: bytes, min_chars: int = 8) -> bool:
    """Strictly valid UTF-8 with at least ``min_chars`` non-ASCII characters."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _non_ascii(text[:20_000]) >= min_chars


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode an HTML response body; return ``(text, codec used)``.

    Never raises: undecodable bytes become U+FFFD.
    """
    codec = declared_charset(body, content_type)
    if codec == "utf-8-sig":
        return body[3:].decode("utf-8", "replace"), "utf-8"
    if codec in ("utf-16", "utf-32"):
        return body.decode(codec, "replace"), codec
    if codec not in (None, "utf-8", "cp1252"):
        if _is_multibyte_utf8(body):
            # A legacy label on valid, non-ASCII UTF-8 (a CMS migrated to UTF-8 that kept its
            # old <meta>): legacy Arabic text practically never forms valid UTF-8 sequences.
            return body.decode("utf-8"), "utf-8"
        return body.decode(codec, "replace"), codec
    try:
        return body.decode("utf-8"), "utf-8"  # valid UTF-8 is UTF-8, whatever the label says
    except UnicodeDecodeError:
        pass
    if codec is None:
        return _sniff_legacy(body)
    if codec == "cp1252":
        # "iso-8859-1" is many CMSes' default label; old Arabic sites send windows-1256 under it.
        legacy_text, legacy = _sniff_legacy(body)
        if legacy != "utf-8" and arabic_score(legacy_text) > 1.0:
            return legacy_text, legacy
        return body.decode("cp1252", "replace"), "cp1252"
    text = body.decode("utf-8", "replace")
    # Declared UTF-8 but mostly invalid? Then the declaration is wrong (old Arabic CMS).
    bad = text.count("\ufffd")
    if bad > 20 and bad > _non_ascii(text) * 0.3:
        legacy_text, legacy = _sniff_legacy(body)
        if legacy != "utf-8" and arabic_score(legacy_text) > arabic_score(text) + 0.5:
            return legacy_text, legacy
    return text, "utf-8"
