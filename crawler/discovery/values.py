"""Field-level clean-up shared by the feed, sitemap and listing parsers: text and languages
(dates: :func:`crawler.text.dates.to_iso`)."""
from __future__ import annotations

import html
import re

import lxml.html
from lxml import etree


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
