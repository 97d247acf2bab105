"""Field-level clean-up shared by the feed, sitemap and listing parsers: text, dates, languages."""
from __future__ import annotations

import html
import re
from datetime import datetime, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import lxml.html
from lxml import etree

from crawler.text import parse_date
from crawler.text.dates import plausible

SUMMARY_MAX_CHARS = 1000
_HTML_SOURCE_MAX = 20_000       # a summary never needs more of a content:encoded body than this

# --------------------------------------------------------------------------- text

_TAG = re.compile(r"<[A-Za-z/!]")
_ENTITY = re.compile(r"&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_BLOCKS = ("p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
           "table", "blockquote", "figure", "figcaption", "section", "article")


def clean_text(text: str | None) -> str | None:
    """Collapse whitespace (no-break spaces included, ZWNJ kept: Sorani spelling needs it)."""
    if not text:
        return None
    out = " ".join(text.split())
    return out or None


def html_to_text(text: str | None, max_source: int = _HTML_SOURCE_MAX) -> str | None:
    """Plain text of an HTML fragment (feed descriptions, escaped titles); block elements become
    word breaks, scripts and styles vanish, double-escaped entities are decoded."""
    if not text:
        return None
    text = text[:max_source]
    if _TAG.search(text):
        try:
            root = lxml.html.document_fromstring(f"<div>{text}</div>")
        except (etree.ParserError, ValueError):
            return clean_text(html.unescape(text))
        for bad in list(root.iter("script", "style", "noscript")):
            bad.drop_tree()
        for block in root.iter(*_BLOCKS):
            block.tail = " " + (block.tail or "")
        text = root.text_content()
    if _ENTITY.search(text):
        text = html.unescape(text)
    return clean_text(text)


def shorten(text: str | None, limit: int = SUMMARY_MAX_CHARS) -> str | None:
    """Cut at a word boundary: a hint summary, not the body (that comes from the article page)."""
    if text is None or len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


#: Text length from which a feed or API item's content counts as the whole article (ANF's
#: items carry the full body); shorter ones are teasers.
FULLTEXT_MIN_CHARS = 400
_CONTENT_MAX_CHARS = 200_000


def full_article(html_text: str | None) -> str | None:
    """The item's HTML when it holds a whole article (long enough), else None."""
    if not html_text or len(html_text) < FULLTEXT_MIN_CHARS:
        return None
    text = html_to_text(html_text, max_source=_CONTENT_MAX_CHARS)
    return html_text[:_CONTENT_MAX_CHARS] if text and len(text) >= FULLTEXT_MIN_CHARS else None



_IMG_SRC = re.compile(r"""<img\b[^>]*?\s(?:data-src|src)\s*=\s*["']?([^"'\s>]+)""", re.I)


def first_image(html_text: str | None) -> str | None:
    """``src`` of the first ``<img>`` in an HTML fragment (regex: cheap, and only a hint)."""
    if not html_text or "<img" not in html_text.lower():
        return None
    for m in _IMG_SRC.finditer(html_text[:_HTML_SOURCE_MAX]):
        if not m.group(1).startswith("data:"):
            return html.unescape(m.group(1))
    return None


# --------------------------------------------------------------------------- dates

def zone(name: str) -> tzinfo:
    """Validate a timezone name once, up front: a bad name is a configuration error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


_RFC822 = re.compile(r"^\s*(?:[A-Za-z]{2,9},?\s*)?\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{2,4}\s+\d{1,2}:\d{2}")
# Zone names email.utils does not know, or gets wrong for this region: "AST" on a Middle-East
# outlet is Arabia Standard Time (+03:00), not the Atlantic zone email.utils assumes.
_ZONE_FIX = {"AST": "+0300", "ARABT": "+0300", "EET": "+0200", "EEST": "+0300", "TRT": "+0300",
             "MSK": "+0300", "IRST": "+0330", "IRDT": "+0430", "CET": "+0100", "CEST": "+0200",
             "BST": "+0100", "IST": "+0530"}
_TRAILING_ZONE = re.compile(r"\s([A-Za-z]{2,5})\s*$")
_PARTIAL_ISO = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def _from_rfc822(text: str, tz: tzinfo) -> datetime | None:
    m = _TRAILING_ZONE.search(text)
    if m and m.group(1).upper() in _ZONE_FIX:
        text = text[:m.start()] + " " + _ZONE_FIX[m.group(1).upper()]
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if value.tzinfo is None:
        utc = re.search(r"-0000\s*$", text)
        value = value.replace(tzinfo=ZoneInfo("UTC") if utc else tz)
    return value


def to_iso(text: str | None, tz: tzinfo, tz_name: str = "UTC") -> str | None:
    """Any feed/sitemap date → ISO 8601 with offset; times without a zone are placed in ``tz``.

    Order: ISO/W3C-DTF (sitemaps, Atom, dc:date), RFC 822 (RSS pubDate), then the project's
    multilingual ``crawler.text.parse_date`` for localised dates ("04 حزيران 2017")."""
    text = clean_text(text)
    if not text:
        return None
    value: datetime | None = None
    partial = _PARTIAL_ISO.match(text)
    if partial and 1 <= int(partial[2] or 1) <= 12:     # W3C-DTF "2017" / "2017-06"
        value = datetime(int(partial[1]), int(partial[2] or 1), 1, tzinfo=tz)
    if value is None and text[:4].isdigit():
        try:
            value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        except ValueError:
            value = None
    if value is None and _RFC822.match(text):
        value = _from_rfc822(text, tz)
    # Index pages state absolute dates; words alone ("yesterday") have no reference time here.
    if value is None and any(ch.isdigit() for ch in text):
        try:
            value = parse_date(text, tz=tz_name)
        except Exception:  # noqa: BLE001 - a helper's bug must not lose the whole feed
            value = None
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    if not plausible(value):
        return IMPLAUSIBLE
    return value.isoformat()


# A date that parsed but cannot be a news article's (year 9999, 1855): the article is kept
# undated rather than sorted to the top or bottom of every list. Falsy, unlike a real date.
IMPLAUSIBLE = ""


# --------------------------------------------------------------------------- languages

_LANG = re.compile(r"^[a-z]{2,3}$")


def language(tag: str | None) -> str | None:
    """BCP 47-ish tag → primary language code; ``ku-Arab`` → ``ckb``, ``ku-Latn`` → ``kmr``
    (feeds rarely say more than ``ku``, which is kept as is)."""
    if not tag:
        return None
    parts = tag.strip().replace("_", "-").lower().split("-")
    primary = {"ara": "ar", "kur": "ku", "eng": "en", "tur": "tr", "fas": "fa", "per": "fa"}.get(
        parts[0], parts[0])
    if primary == "ku":
        if "arab" in parts[1:]:
            return "ckb"
        if "latn" in parts[1:]:
            return "kmr"
    return primary if _LANG.match(primary) else None
