"""What one fetched URL is — feed, sitemap, news sitemap, sitemap index, listing, JSON API,
challenge page, JavaScript-only page, article page — and its items (:func:`diagnose`); the
feed links a page declares and the sitemaps robots.txt names. Plain: it reads bytes it is
given, requests nothing.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urljoin

from crawler.challenges import Challenge, classify, needs_browser
from crawler.config import SourceConfig
from crawler.discovery import extract_listing_links, parse_feed, parse_sitemap
from crawler.discovery.api import parse_api
from crawler.doctor.fetch import Fetched
from crawler.models import LinkHint

_ALTERNATE = re.compile(rb"<link\b[^>]*>", re.I)
_ATTR = re.compile(rb"""([a-zA-Z-]+)\s*=\s*["']([^"']*)["']""")
_FEED_TYPES = (b"application/rss+xml", b"application/atom+xml", b"application/feed+json",
               b"application/rdf+xml")


@dataclass
class Diagnosis:
    """What one URL is, for the report."""

    url: str
    kind: str                  # feed | sitemap | news sitemap | sitemap index | listing | JSON
    #                            API | challenge | JS-only page | article page | unreachable | …
    items: list[LinkHint] = field(default_factory=list)
    detail: str = ""
    challenge: Challenge | None = None
    api: dict[str, Any] | None = None      # a suggested/used api block for a JSON API
    children: list[str] = field(default_factory=list)   # sitemap index children

    @property
    def newest(self) -> str | None:
        dates = sorted((h.updated_at or h.published_at or "") for h in self.items)
        return dates[-1] if dates and dates[-1] else None

    @property
    def usable(self) -> bool:
        return self.kind in ("feed", "sitemap", "news sitemap", "sitemap index", "listing",
                             "JSON API") and bool(self.items or self.children)


# --------------------------------------------------------------------------- diagnosis

def _sniff_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


def guess_api(doc: Any, depth: int = 0, path: str = "") -> dict[str, Any] | None:
    """The likeliest item list of a JSON document (the longest list of objects with a link)
    and its link/title/date/body fields, as an ``api:`` block."""
    best: tuple[int, dict[str, Any]] | None = None

    def visit(node: Any, where: str, level: int) -> None:
        nonlocal best
        if level > 8:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                visit(value, f"{where}.{key}" if where else str(key), level + 1)
        elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node[:20]):
            spec = _fields_of(node[:20])
            if spec and where and (best is None or len(node) > best[0]):
                best = (len(node), {"items": where, **spec})
    visit(doc, path, depth)
    return best[1] if best else None


def _fields_of(items: list[dict]) -> dict[str, str] | None:
    keys = [k for k in items[0] if isinstance(k, str)]

    def share(key: str, test: Callable[[Any], bool]) -> float:
        return sum(1 for it in items if test(it.get(key))) / len(items)

    def urlish(v: Any) -> bool:
        return isinstance(v, str) and (v.startswith(("http://", "https://", "/")) and " " not in v)

    link = next((k for k in sorted(keys, key=lambda k: (k.lower() not in ("link", "url", "href"),
                                                          k)) if share(k, urlish) > 0.8), None)
    if link is None:
        return None
    spec = {"link": link}
    for name, words in (("title", ("title", "headline", "name")),
                        ("date", ("date", "time", "published", "created")),
                        ("body", ("bodystripped", "body", "content", "text")),
                        ("summary", ("summary", "description", "excerpt", "lead"))):
        for key in keys:
            if key != link and any(w in key.lower() for w in words) and \
                    share(key, lambda v: isinstance(v, (str, int, float))) > 0.8:
                spec[name] = key
                break
    return spec


def _max_page_path(doc: Any) -> str | None:
    """A ``…MaxPage``/``…TotalPages`` number near the top of the document."""
    def visit(node: Any, where: str, level: int) -> str | None:
        if level > 3 or not isinstance(node, dict):
            return None
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            if isinstance(value, int) and re.search(r"max_?page|total_?pages|page_?count|"
                                                    r"last_?page", str(key), re.I):
                return here
            found = visit(value, here, level + 1)
            if found:
                return found
        return None
    return visit(doc, "", 0)


def diagnose(fetched: Fetched, *, source: SourceConfig | None = None,
             timezone: str = "UTC") -> Diagnosis:
    """Classify one fetched URL and read its items."""
    url, body = fetched.url, fetched.body
    if fetched.error:
        return Diagnosis(url, "unreachable", detail=fetched.error)
    challenge = classify(fetched.status, fetched.headers, body)
    if challenge is not None:
        return Diagnosis(url, "challenge", detail=challenge.reason, challenge=challenge)
    if fetched.status >= 400:
        return Diagnosis(url, "error", detail=f"HTTP {fetched.status}")
    head = body.lstrip()[:512].lower()
    tz = source.timezone if source else timezone
    if _sniff_json(body):
        spec = dict(source.api) if source is not None and source.api else None
        try:
            doc = json.loads(body.decode("utf-8-sig", "replace")) if spec is None else None
        except (ValueError, RecursionError) as exc:
            return Diagnosis(url, "broken JSON", detail=f"invalid JSON: {str(exc)[:100]}")
        if spec is None:
            spec = guess_api(doc) if doc is not None else None
            if spec and (mp := _max_page_path(doc)):
                spec["max_page"] = mp
        if not spec:
            return Diagnosis(url, "JSON (no item list)", detail="JSON without a list of "
                             "objects with links")
        result = parse_api(body, url, spec, timezone=tz)
        detail = f"{len(result.entries)} items at {spec['items']}"
        if result.max_page is not None:
            detail += f"; max page {result.max_page}"
        if result.problems:
            detail += "; problems: " + "; ".join(result.problems[:3])
        return Diagnosis(url, "JSON API", items=result.entries, detail=detail, api=spec)
    if head.startswith(b"<?xml") or b"<rss" in head or b"<feed" in head or b"<urlset" in head \
            or b"<sitemapindex" in head or body[:2] == b"\x1f\x8b" \
            or fetched.content_type.endswith("xml"):
        try:
            sitemap = parse_sitemap(body, url, timezone=tz)
        except ValueError as exc:
            return Diagnosis(url, "unsafe XML", detail=str(exc))
        if sitemap.kind in ("urlset", "sitemapindex", "text"):
            news = b"sitemap-news" in body[:4096] or b"<news:" in body[:65536]
            kind = "sitemap index" if sitemap.kind == "sitemapindex" else \
                "news sitemap" if news else "sitemap"
            return Diagnosis(url, kind, items=sitemap.urls, children=[c.url for c in
                                                                       sitemap.sitemaps],
                             detail="; ".join(sitemap.problems[:3]))
        try:
            feed = parse_feed(body, url, timezone=tz)
        except ValueError as exc:
            return Diagnosis(url, "unsafe XML", detail=str(exc))
        if feed.kind:
            full = sum(1 for e in feed.entries if e.content_html)
            detail = f"{feed.kind}" + (f"; {full} items carry the whole article" if full else "")
            if feed.problems:
                detail += "; problems: " + "; ".join(feed.problems[:3])
            return Diagnosis(url, "feed", items=feed.entries, detail=detail)
    selectors = source.selectors if source else {}
    listing = extract_listing_links(body, url, article_links=selectors.get("article_links"),
                                    next_page=selectors.get("next_page"),
                                    allowed_domains=source.allowed_domains if source else (),
                                    timezone=tz)
    enough = 1 if selectors.get("article_links") or (source and source.kind == "listing") \
        else 2 if listing.next_pages else 5
    if len(listing.articles) >= enough:
        more = f"; next page {listing.next_pages[0]}" if listing.next_pages else ""
        return Diagnosis(url, "listing", items=listing.articles,
                         detail=f"{len(listing.articles)} article links{more}")
    from crawler.extract import ExtractionError, extract_article
    try:
        article = extract_article(body, url, timezone=tz, headers=fetched.headers,
                                  selectors=selectors)
        return Diagnosis(url, "article page", detail=f"an article ({article.title!r}), not an "
                         "index")
    except ExtractionError as exc:
        if exc.reason == "no-article-text" and needs_browser(body):
            return Diagnosis(url, "JS-only page", detail=str(exc))
        return Diagnosis(url, "HTML page", detail=f"{len(listing.articles)} article links; "
                         f"not an article ({exc.reason})")


# --------------------------------------------------------------------------- candidates

def feed_links(html: bytes, base: str) -> list[str]:
    """``<link rel="alternate" type="application/rss+xml" href=…>`` of a page."""
    out: list[str] = []
    for tag in _ALTERNATE.findall(html[:262144]):
        attrs = {k.lower(): v for k, v in _ATTR.findall(tag)}
        if b"alternate" in attrs.get(b"rel", b"").lower() and \
                attrs.get(b"type", b"").lower() in _FEED_TYPES and attrs.get(b"href"):
            url = urljoin(base, attrs[b"href"].decode("utf-8", "replace"))
            if url not in out:
                out.append(url)
    return out


def robots_sitemaps(text: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.lower().startswith("sitemap:") and line.split(":", 1)[1].strip()]
