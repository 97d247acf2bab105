"""Namespace-tolerant field access for feed and sitemap elements.

Namespaces are folded to short kinds ("dc", "media", "news", …) so one lookup works for correct
documents, documents using an older namespace URI, and broken ones whose prefixes were never
declared (lxml's recovery keeps ``dc:creator`` as a plain name).
"""
from __future__ import annotations

from lxml import etree

from crawler.discovery.values import clean_text

NS_KIND = {
    # RSS core under its various historical namespaces
    "http://purl.org/rss/1.0/": "",
    "http://my.netscape.com/rdf/simple/0.9/": "",
    "http://backend.userland.com/rss2": "",
    "http://blogs.law.harvard.edu/tech/rss": "",
    # sitemaps protocol, current and Google's pre-standard ones
    "http://www.sitemaps.org/schemas/sitemap/0.9": "",
    "http://www.google.com/schemas/sitemap/0.84": "",
    "http://www.google.com/schemas/sitemap/0.9": "",
    "http://www.google.com/schemas/sitemap-news/0.9": "news",
    "http://www.google.com/schemas/sitemap-image/1.1": "image",
    "http://www.google.com/schemas/sitemap-video/1.1": "video",
    # feed extensions
    "http://www.w3.org/2005/Atom": "atom",
    "http://purl.org/atom/ns#": "atom",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://search.yahoo.com/mrss/": "media",
    "http://search.yahoo.com/mrss": "media",
    "http://rssnamespace.org/feedburner/ext/1.0": "feedburner",
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
    "http://www.w3.org/1999/xhtml": "xhtml",
}

Fields = dict[tuple[str, str], list[etree._Element]]


def field_key(tag: object) -> tuple[str, str]:
    """``(kind, local name)`` of a tag; unknown namespaces keep their URI as the kind."""
    if not isinstance(tag, str):
        return ("#", "")
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return NS_KIND.get(ns, ns), local
    if ":" in tag:
        prefix, local = tag.split(":", 1)
        return prefix.lower(), local
    return "", tag


def index_children(element: etree._Element) -> Fields:
    fields: Fields = {}
    for child in element:
        fields.setdefault(field_key(child.tag), []).append(child)
    return fields


def text_of(element: etree._Element | None) -> str | None:
    """Whitespace-collapsed text of an element and its descendants (CDATA included)."""
    if element is None:
        return None
    return clean_text(element.text if len(element) == 0 else "".join(element.itertext()))


def first_field(fields: Fields, *keys: tuple[str, str]) -> etree._Element | None:
    """First element under any of ``keys`` that has text or children."""
    for key in keys:
        for element in fields.get(key, ()):
            if len(element) or (element.text and not element.text.isspace()):
                return element
    return None
