"""Atom 1.0 feeds out (RFC 4287): per alert rule and per search, so an analyst can subscribe
in any feed reader. Written with the standard library's SAX ``XMLGenerator``, which escapes
every text and attribute; characters XML 1.0 cannot carry at all (C0 controls a hostile page
may hold) are dropped first, so a feed is always well-formed."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable
from xml.sax.saxutils import XMLGenerator

from crawler.text.dates import parse_iso

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class Entry:
    id: str                         # a tag: URI, stable per story
    title: str
    link: str
    updated: str | None             # ISO time
    summary: str = ""
    author: str = ""                # the outlet
    language: str | None = None
    categories: tuple[str, ...] = ()


def _clean(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def _rfc3339(value: str | None) -> str:
    parsed = parse_iso(value) if value else None
    if parsed is None:
        parsed = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom(feed_id: str, title: str, self_url: str, alternate_url: str,
         entries: Iterable[Entry]) -> bytes:
    """The feed document, UTF-8."""
    entries = list(entries)
    out = io.StringIO()
    xml = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)
    xml.startDocument()
    xml.startElement("feed", {"xmlns": ATOM_NS})

    def text(name: str, value: str, attrs: dict[str, str] | None = None) -> None:
        xml.startElement(name, attrs or {})
        xml.characters(_clean(value))
        xml.endElement(name)

    def link(href: str, rel: str) -> None:
        xml.startElement("link", {"rel": rel, "href": _clean(href)})
        xml.endElement("link")

    text("id", feed_id)
    text("title", title)
    text("updated", max((_rfc3339(e.updated) for e in entries),
                        default=_rfc3339(datetime.now(timezone.utc).isoformat())))
    link(self_url, "self")
    link(alternate_url, "alternate")
    xml.startElement("generator", {})
    xml.characters("Chavder")
    xml.endElement("generator")
    for e in entries:
        attrs = {"xml:lang": e.language} if e.language else {}
        xml.startElement("entry", attrs)
        text("id", e.id)
        text("title", e.title)
        link(e.link, "alternate")
        text("updated", _rfc3339(e.updated))
        if e.author:
            xml.startElement("author", {})
            text("name", e.author)
            xml.endElement("author")
        for category in e.categories:
            xml.startElement("category", {"term": _clean(category)})
            xml.endElement("category")
        if e.summary:
            text("summary", e.summary, {"type": "text"})
        xml.endElement("entry")
    xml.endElement("feed")
    xml.endDocument()
    return out.getvalue().encode("utf-8")
