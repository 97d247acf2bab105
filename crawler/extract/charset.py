"""Decode HTML bytes: BOM, HTTP header, <meta>, XML declaration, then legacy Arabic detection.

Legacy Arabic sites often send windows-1256 (or ISO-8859-6) with no declaration at all, and some
declare one charset while sending another. A declared charset is trusted when the bytes decode
cleanly under it; otherwise UTF-8 is tried, then the Arabic code pages are scored by how much of
the decoded text is Arabic letters and common Arabic words.
"""
from __future__ import annotations

import codecs
import re

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECL = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_HEADER = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")
_COMMON_WORDS = ("في", "من", "على", "إلى", "أن", "التي", "الذي", "عن", "مع", "هذا")
_LEGACY_CANDIDATES = ("cp1256", "iso-8859-6")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


def _lookup(name: str | bytes | None) -> str | None:
    if not name:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "ignore")
    try:
        codec = codecs.lookup(name.strip().lower())
    except LookupError:
        return None
    # ISO-8859-1 / Latin-1 declarations are usually wrong defaults; treat like windows-1252.
    return "cp1252" if codec.name in ("latin-1", "iso8859-1") else codec.name


def declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The charset a page declares (HTTP header first, then meta / XML declaration)."""
    if content_type:
        m = _HEADER.search(content_type)
        if m and _lookup(m.group(1)):
            return _lookup(m.group(1))
    head = body[:4096]
    m = _META.search(head) or _XML_DECL.search(head)
    return _lookup(m.group(1)) if m else None


def _arabic_score(text: str) -> float:
    if not text:
        return 0.0
    letters = len(_ARABIC_LETTER.findall(text))
    words = set(text.split())
    common = sum(1 for w in _COMMON_WORDS if w in words)
    return letters / max(1, len(text)) + 0.05 * common


def _decodes_cleanly(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Return ``(text, encoding used)``; never raises on bad bytes (they become U+FFFD)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, errors="replace"), encoding
    declared = declared_charset(body, content_type)
    if declared and _decodes_cleanly(body, declared):
        if declared not in ("cp1252",):
            return body.decode(declared), declared
    if _decodes_cleanly(body, "utf-8"):
        return body.decode("utf-8"), "utf-8"
    if declared == "utf-8" or declared is None:
        # Mostly valid UTF-8 with a few broken bytes: keep UTF-8, replace the bad bytes.
        text = body.decode("utf-8", errors="replace")
        if text.count("\ufffd") <= max(8, len(body) // 200):
            return text, "utf-8"
    best = max(_LEGACY_CANDIDATES,
               key=lambda enc: _arabic_score(body.decode(enc, errors="replace")))
    best_text = body.decode(best, errors="replace")
    if declared and declared != best and _arabic_score(best_text) < 0.2:
        return body.decode(declared, errors="replace"), declared
    return best_text, best
