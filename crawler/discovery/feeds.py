"""RSS 0.9x / 1.0 (RDF) / 2.0 and Atom 0.3 / 1.0 → :class:`LinkHint` entries, streamed."""
from __future__ import annotations

import base64
import html
import binascii
import re
from dataclasses import dataclass, field
from datetime import tzinfo

from lxml import etree

from crawler.discovery.results import FeedResult, ProblemLog
from crawler.discovery.safexml import (MAX_DECOMPRESSED_BYTES, XML_NS, PreparedXML, iter_events,
                                       local_name, prepare, release, salvage_entries)
from crawler.urls import clean_url, is_absolute_http
from crawler.discovery.values import (clean_text, first_image, full_article, html_to_text,
                                      language, shorten)
from crawler.discovery.xmlfields import field_key, first_field, index_children, text_of
from crawler.models import LinkHint
from crawler.text.dates import to_iso, zone

_ATOM = ("atom", "")           # Atom elements, also when a broken feed forgot the namespace
_XML_BASE = f"{{{XML_NS}}}base"
_XML_LANG = f"{{{XML_NS}}}lang"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_IMAGE_EXT = re.compile(r"\.(jpe?g|png|gif|webp|avif)(\?|$)", re.I)
_EMAIL_NAME = re.compile(r"^\s*\S+@\S+\s*\((.+)\)\s*$")


def _base(element: etree._Element, base_url: str) -> str:
    """xml:base chain from the outermost ancestor inwards, on top of the document URL."""
    chain = [e.get(_XML_BASE) for e in (element, *element.iterancestors())]
    base = base_url
    for value in reversed(chain):
        if value:
            base = clean_url(value, base) or base
    return base


def _lang(element: etree._Element) -> str | None:
    for e in (element, *element.iterancestors()):
        if e.get(_XML_LANG):
            return language(e.get(_XML_LANG))
    return None


def _atom_text(element: etree._Element | None) -> str | None:
    """Atom text construct (1.0 ``type`` text/html/xhtml, 0.3 ``mode`` escaped/base64/xml)."""
    if element is None:
        return None
    kind = (element.get("type") or "text").lower()
    mode = (element.get("mode") or "").lower()
    raw = "".join(element.itertext())
    if mode == "base64":
        try:
            raw = base64.b64decode(raw).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
        return html_to_text(raw)
    if kind in ("xhtml", "application/xhtml+xml") or mode == "xml":
        return clean_text(raw)
    return html_to_text(raw)


def _atom_html(element: etree._Element | None) -> str | None:
    """An Atom text construct as HTML (xhtml content is serialised, text is escaped)."""
    if element is None:
        return None
    kind = (element.get("type") or "text").lower()
    if kind in ("xhtml", "application/xhtml+xml"):
        return "".join(etree.tostring(c, encoding="unicode") for c in element) or None
    raw = "".join(element.itertext())
    if kind == "text":
        return "".join(f"<p>{html.escape(p)}</p>" for p in raw.split("\n\n") if p.strip())
    return raw


def _either(first: etree._Element | None, second: etree._Element | None) -> etree._Element | None:
    """``a or b`` is wrong for lxml elements: an element without children is falsy."""
    return first if first is not None else second


def _author_name(text: str | None) -> str | None:
    if not text:
        return None
    m = _EMAIL_NAME.match(text)
    return clean_text(m.group(1)) if m else text


def _add_unique(items: list[str], value: str | None) -> None:
    if value and value not in items:
        items.append(value)


@dataclass
class _Context:
    base_url: str
    tz: tzinfo
    problems: ProblemLog
    channel_language: str | None = None
    feed_authors: list[str] = field(default_factory=list)
    bad_dates: int = 0
    bad_date_example: str | None = None
    no_link: int = 0

    def date(self, element: etree._Element | None) -> str | None:
        text = text_of(element)
        if not text:
            return None
        value = to_iso(text, self.tz)
        if value is None:
            self.bad_dates += 1
            self.bad_date_example = self.bad_date_example or text[:60]
        return value or None

    def finish(self) -> None:
        if self.bad_dates:
            self.problems.add(f"{self.bad_dates} dates not understood, e.g. {self.bad_date_example!r}")
        if self.no_link:
            self.problems.add(f"{self.no_link} entries without a usable http(s) link skipped")


# --------------------------------------------------------------------------- images

def _is_image(url: str | None, mime: str | None, medium: str | None) -> bool:
    if medium:
        return medium.lower() == "image"
    if mime:
        return mime.lower().startswith("image/")
    return bool(url and _IMAGE_EXT.search(url))


def _media_image(fields: dict, base: str) -> str | None:
    candidates: list[etree._Element] = list(fields.get(("media", "content"), ()))
    for group in fields.get(("media", "group"), ()):
        candidates += [c for c in group if field_key(c.tag) == ("media", "content")]
    for el in candidates:
        if _is_image(el.get("url"), el.get("type"), el.get("medium")):
            if url := clean_url(el.get("url"), base):
                return url
    thumbs = list(fields.get(("media", "thumbnail"), ()))
    for group in fields.get(("media", "group"), ()):
        thumbs += [c for c in group if field_key(c.tag) == ("media", "thumbnail")]
    for el in thumbs:
        if url := clean_url(el.get("url"), base):
            return url
    for el in fields.get(("", "enclosure"), ()):
        if _is_image(el.get("url"), el.get("type"), None):
            if url := clean_url(el.get("url"), base):
                return url
    for el in fields.get(("atom", "link"), []) + fields.get(("", "link"), []):
        if (el.get("rel") or "").lower() == "enclosure" and _is_image(el.get("href"), el.get("type"), None):
            if url := clean_url(el.get("href"), _base(el, base)):
                return url
    for el in fields.get(("", "image"), ()):          # <image>url</image> or <image><url>…
        url_el = next((c for c in el if local_name(c.tag) == "url"), None)
        if url := clean_url(text_of(url_el) or text_of(el), base):
            return url
    return None


# --------------------------------------------------------------------------- entries

def _rss_item(item: etree._Element, ctx: _Context) -> LinkHint | None:
    f = index_children(item)
    base = _base(item, ctx.base_url)
    url = None
    for el in f.get(("feedburner", "origLink"), []) + f.get(("", "link"), []):
        alternate = (el.get("rel") or "alternate").lower() == "alternate"
        url = clean_url(text_of(el) or (el.get("href") if alternate else None), base)
        if url:
            break
    if url is None:
        url = _atom_link(f, base)
    if url is None:
        for el in f.get(("", "guid"), []):
            if (el.get("isPermaLink") or "true").lower() != "false" and is_absolute_http(text_of(el)):
                url = clean_url(text_of(el), base)
                break
    if url is None and is_absolute_http(item.get(_RDF_ABOUT)):
        url = clean_url(item.get(_RDF_ABOUT), base)
    if url is None:      # recovery may have nested <link> inside a broken <title>
        for el in item.iter("link", "{http://purl.org/rss/1.0/}link"):
            if url := clean_url(text_of(el), base):
                break
    if url is None:
        ctx.no_link += 1
        return None

    description = first_field(f, ("", "description"), ("dc", "description"), ("atom", "summary"))
    content = first_field(f, ("content", "encoded"), ("atom", "content"))
    description_html = "".join(description.itertext()) if description is not None else None
    content_html = "".join(content.itertext()) if content is not None else None
    summary = html_to_text(description_html) or html_to_text(content_html)
    full = full_article(content_html) or full_article(description_html)

    authors: list[str] = []
    for el in f.get(("", "author"), []):
        _add_unique(authors, _author_name(text_of(el)))
    for el in f.get(("dc", "creator"), []) + f.get(("itunes", "author"), []):
        _add_unique(authors, text_of(el))
    for el in f.get(("atom", "author"), []):
        _add_unique(authors, text_of(first_field(index_children(el), ("atom", "name"))))

    tags: list[str] = []
    for el in f.get(("", "category"), []) + f.get(("dc", "subject"), []):
        _add_unique(tags, html_to_text(text_of(el)))
    for el in f.get(("atom", "category"), []):
        _add_unique(tags, clean_text(el.get("label") or el.get("term")))

    item_lang = text_of(first_field(f, ("dc", "language")))
    image = (_media_image(f, base) or clean_url(first_image(content_html), base)
             or clean_url(first_image(description_html), base))
    return LinkHint(
        url=url,
        title=html_to_text(text_of(first_field(f, ("", "title"), ("dc", "title"), ("atom", "title")))),
        published_at=ctx.date(first_field(f, ("", "pubDate"), ("dc", "date"), ("dcterms", "issued"),
                                     ("dcterms", "created"), ("atom", "published"))),
        updated_at=ctx.date(first_field(f, ("atom", "updated"), ("dcterms", "modified"))),
        language=language(item_lang) or _lang(item) or ctx.channel_language,
        summary=shorten(summary),
        authors=authors,
        tags=tags,
        image_url=image,
        content_html=full,
    )


def _atom_link(f: dict, base: str) -> str | None:
    """Prefer rel=alternate (or no rel) HTML links; fall back to any alternate."""
    links = [el for key in (("atom", "link"), ("", "link")) for el in f.get(key, ())
             if (el.get("rel") or "alternate").lower() == "alternate" and el.get("href")]
    links.sort(key=lambda el: 0 if (el.get("type") or "text/html").lower()
               in ("text/html", "application/xhtml+xml") else 1)
    for el in links:
        if url := clean_url(el.get("href"), _base(el, base)):
            return url
    return None


def _atom_entry(entry: etree._Element, ctx: _Context) -> LinkHint | None:
    f = index_children(entry)
    base = _base(entry, ctx.base_url)
    url = _atom_link(f, base)
    if url is None:
        for key in _ATOM:
            for el in f.get((key, "id"), []):
                if is_absolute_http(text_of(el)):
                    url = clean_url(text_of(el), base)
                    break
    if url is None:
        ctx.no_link += 1
        return None

    def pick(*names: str) -> etree._Element | None:
        return first_field(f, *[(k, n) for n in names for k in _ATOM])

    content = pick("content")
    content_html = "".join(content.itertext()) if content is not None else None
    authors: list[str] = []
    for key in _ATOM:
        for el in f.get((key, "author"), []):
            _add_unique(authors, text_of(first_field(index_children(el), *[(k, "name") for k in _ATOM])))
    for el in f.get(("dc", "creator"), []):
        _add_unique(authors, text_of(el))
    tags: list[str] = []
    for key in _ATOM:
        for el in f.get((key, "category"), []):
            _add_unique(tags, clean_text(el.get("label") or el.get("term") or text_of(el)))
    return LinkHint(
        url=url,
        title=_atom_text(pick("title")),
        published_at=ctx.date(_either(pick("published", "issued", "created"),
                                      first_field(f, ("dc", "date")))),
        updated_at=ctx.date(pick("updated", "modified")),
        language=_lang(entry) or ctx.channel_language,
        summary=shorten(_atom_text(pick("summary")) or _atom_text(content)),
        authors=authors or list(ctx.feed_authors),
        tags=tags,
        image_url=_media_image(f, base) or clean_url(first_image(content_html), base),
        content_html=full_article(_atom_html(content)) or full_article(_atom_html(pick("summary"))),
    )


# --------------------------------------------------------------------------- document

def _feed_kind(root: etree._Element) -> str:
    ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    local = local_name(root.tag)
    if local == "feed":
        return {"http://www.w3.org/2005/Atom": "atom1.0", "http://purl.org/atom/ns#": "atom0.3"}.get(
            ns, "atom")
    if local == "RDF":
        return "rdf"
    return f"rss{root.get('version', '')}"


def _channel_field(el: etree._Element, ctx: _Context, result: FeedResult) -> None:
    """Feed-level title, language and (Atom) authors, seen outside any item."""
    parent = el.getparent()
    if parent is None:
        return
    parent_local = local_name(parent.tag)
    top = parent_local == "channel" or parent.getparent() is None
    if not top:
        return
    kind, local = field_key(el.tag)
    if local == "title" and kind in ("", "atom") and result.title is None:
        result.title = _atom_text(el) if kind == "atom" else html_to_text(text_of(el))
    elif local == "language" and kind in ("", "dc"):
        ctx.channel_language = result.language = language(text_of(el))
    elif local == "author" and kind in _ATOM and parent.getparent() is None:
        _add_unique(ctx.feed_authors, text_of(first_field(index_children(el), *[(k, "name") for k in _ATOM])))


_FEED_TAGS = tuple(f"{{*}}{name}" for name in ("rss", "RDF", "feed", "item", "entry", "title",
                                                 "language", "author"))


def read_feed(prepared: PreparedXML, base_url: str, tz: tzinfo, max_items: int,
              problems: ProblemLog) -> FeedResult:
    """Stream a prepared feed document; also used for feeds submitted as sitemaps."""
    result = FeedResult(truncated=prepared.capped)
    ctx = _Context(base_url, tz, problems)
    current: etree._Element | None = None
    seen: set[str] = set()
    count = 0
    for event, el in iter_events(prepared, problems, _FEED_TAGS):
        if event == "start":
            if el.getparent() is None:
                result.kind = _feed_kind(el)
                ctx.channel_language = result.language = language(el.get(_XML_LANG))
            elif current is None and local_name(el.tag) in ("item", "entry"):
                if count >= max_items:
                    result.truncated = True
                    problems.add(f"more than {max_items} entries: stopped at max_items")
                    break
                current = el
            continue
        if el is current:
            count += 1
            parse = _atom_entry if local_name(el.tag) == "entry" else _rss_item
            hint = parse(el, ctx)
            if hint is not None and hint.url not in seen:
                seen.add(hint.url)
                result.entries.append(hint)
            release(el)
            current = None
        elif current is None:
            _channel_field(el, ctx, result)
    if prepared.errors and not result.truncated:
        salvaged, salvage_ctx = _salvage(prepared, ctx, max_items)
        if len(salvaged) > len(result.entries):
            problems.add(f"XML errors: re-read the {len(salvaged)} entries one by one "
                         f"(a single pass kept {len(result.entries)})")
            result.entries, ctx = salvaged, salvage_ctx
    ctx.finish()
    result.problems = problems.as_list()
    return result


def _salvage(prepared: PreparedXML, ctx: _Context, max_items: int) -> tuple[list[LinkHint], _Context]:
    """After XML errors, re-read each ``<item>``/``<entry>`` on its own, so one broken entry —
    an unclosed ``<b>`` in a title — does not swallow every entry after it."""
    quiet = _Context(ctx.base_url, ctx.tz, ctx.problems, ctx.channel_language,
                     ctx.feed_authors)
    entries: list[LinkHint] = []
    seen: set[str] = set()
    for item in salvage_entries(prepared, ("rss", "RDF", "feed"), ("item", "entry"), max_items):
        parse = _atom_entry if local_name(item.tag) == "entry" else _rss_item
        hint = parse(item, quiet)
        if hint is not None and hint.url not in seen:
            seen.add(hint.url)
            entries.append(hint)
    return entries, quiet


def _refusal(prepared: PreparedXML) -> str | None:
    if prepared.looks_like_html:
        return "not a feed: looks like HTML"
    root = prepared.root_local
    if root is None:
        return "not a feed: no XML element found"
    if root.lower() in ("urlset", "sitemapindex"):
        return "not a feed: looks like a sitemap"
    if root.lower() not in ("rss", "rdf", "feed"):
        return f"not a feed: root element <{prepared.prolog.root_name}>"
    return None


def parse_feed(body: bytes, base_url: str, *, timezone: str = "UTC", max_items: int = 5000,
               max_bytes: int = MAX_DECOMPRESSED_BYTES) -> FeedResult:
    """Parse an RSS/RDF/Atom document (optionally gzip-compressed) fetched from ``base_url``.

    Never raises on malformed input (``problems`` says what went wrong); raises
    :class:`~crawler.discovery.UnsafeXMLError` on hostile DTDs and ``ValueError`` on an unknown
    ``timezone``. Times without an offset are placed in ``timezone``."""
    tz = zone(timezone)
    problems = ProblemLog()
    if not body or not body.strip():
        return FeedResult(problems=["empty body"])
    prepared = prepare(body, problems, max_bytes)
    refusal = _refusal(prepared)
    if refusal:
        problems.add(refusal)
        return FeedResult(problems=problems.as_list(), truncated=prepared.capped)
    return read_feed(prepared, base_url, tz, max_items, problems)
