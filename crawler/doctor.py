"""``chavder sources doctor ID|URL``: one polite look at a source, explained for the person
fixing it — reachable? robots.txt? what kind of document (feed, sitemap, news sitemap, listing,
JSON API, challenge page, JavaScript-only page)? how many items, the newest date, three sample
articles, a verdict and the next step. A bare site URL is searched the way a person would:
``<link rel="alternate">`` feeds, common feed paths, ``Sitemap:`` lines of robots.txt,
``/sitemap.xml`` and ``/news-sitemap.xml``; the best candidate is printed as a ready-to-paste
``sources.yaml`` entry.

Requests go one at a time with the crawl's User-Agent (or the source's), a pause between them,
a size cap, at most :data:`MAX_REQUESTS`, and the crawl's address rule: private and loopback
addresses only for a source with ``allow_private: true`` (or ``--allow-private`` for a URL).
The diagnosis itself (:func:`diagnose`) is plain: it reads bytes it is given.
"""
from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from crawler.addresses import is_private_host, parse_ip, is_private_ip, host_in_domains
from crawler.challenges import Challenge, classify, needs_browser
from crawler.config import Settings, SourceConfig
from crawler.discovery import extract_listing_links, parse_feed, parse_sitemap
from crawler.discovery.api import parse_api, page_url, resolve_path
from crawler.models import LinkHint
from crawler.urls import display_url

MAX_REQUESTS = 16
MAX_BYTES = 5 * 1024 * 1024
COMMON_FEEDS = ("/feed/", "/rss", "/feed.rss", "/rss.xml", "/feed.xml", "/atom.xml")
COMMON_SITEMAPS = ("/sitemap.xml", "/news-sitemap.xml", "/sitemap_index.xml")
_ALTERNATE = re.compile(rb"<link\b[^>]*>", re.I)
_ATTR = re.compile(rb"""([a-zA-Z-]+)\s*=\s*["']([^"']*)["']""")
_FEED_TYPES = (b"application/rss+xml", b"application/atom+xml", b"application/feed+json",
               b"application/rdf+xml")


@dataclass
class Fetched:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    error: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


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


# --------------------------------------------------------------------------- fetching

class Fetcher:
    """One request at a time, politely, under the crawl's address rule."""

    def __init__(self, settings: Settings, source: SourceConfig | None, allow_private: bool,
                 delay: float = 1.0, timeout: float | None = None):
        self.source = source
        self.allow_private = allow_private
        self.delay = delay
        self.timeout = timeout or min(settings.download_timeout, 30.0)
        agent = source.user_agent if source and source.user_agent else settings.user_agent
        self.headers = {"User-Agent": agent.replace("{contact_url}", settings.contact_url),
                        "Accept-Encoding": "gzip, deflate",
                        **(source.headers if source else {})}
        self.requests = 0
        self._last = 0.0
        self.robots: dict[str, RobotFileParser] = {}    # netloc → rules read
        self.last_body = b""

    def disallowed(self, url: str) -> bool:
        rules = self.robots.get(urlsplit(url).netloc)
        return rules is not None and not rules.can_fetch(self.headers["User-Agent"], url)

    def _refusal(self, url: str) -> str | None:
        host = urlsplit(url).hostname or ""
        if self.source is not None:
            allowed = self.source.allow_private and host_in_domains(
                host, self.source.allowed_domains)
        else:
            allowed = self.allow_private
        if allowed:
            return None
        if is_private_host(host):
            return f"refused: {host} is a private address (allow_private: true or " \
                   "--allow-private for your own network)"
        try:
            infos = socket.getaddrinfo(host, urlsplit(url).port or 80, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            return f"DNS lookup failed ({exc.strerror or exc})"
        for info in infos:
            ip = parse_ip(str(info[4][0]))
            if ip is not None and is_private_ip(ip):
                return f"refused: {host} resolves to private address {ip}"
        return None

    def get(self, url: str) -> Fetched:
        import requests
        if self.requests >= MAX_REQUESTS:
            return Fetched(url, 0, {}, b"", 0.0, error=f"not fetched: the doctor stops at "
                                                      f"{MAX_REQUESTS} requests")
        for _hop in range(6):
            refusal = self._refusal(url)
            if refusal:
                return Fetched(url, 0, {}, b"", 0.0, error=refusal)
            wait = self._last + self.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.requests += 1
            started = time.monotonic()
            try:
                with requests.get(url, headers=self.headers, timeout=self.timeout, stream=True,
                                  allow_redirects=False) as resp:
                    chunks, size = [], 0
                    for chunk in resp.iter_content(65536):
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > MAX_BYTES:
                            break
                    headers = {k.lower(): v for k, v in resp.headers.items()}
                    status = resp.status_code
            except requests.RequestException as exc:
                self._last = time.monotonic()
                return Fetched(url, 0, {}, b"", 0.0, error=" ".join(str(exc).split())[:200])
            self._last = time.monotonic()
            if status in (301, 302, 303, 307, 308) and headers.get("location"):
                url = urljoin(url, headers["location"])
                continue
            self.last_body = b"".join(chunks)[:MAX_BYTES]
            return Fetched(url, status, headers, self.last_body, self._last - started)
        return Fetched(url, 0, {}, b"", 0.0, error="too many redirects")


# --------------------------------------------------------------------------- the report

NEXT_STEP = {
    "feed": "use kind: feed",
    "sitemap": "use kind: sitemap",
    "news sitemap": "use kind: sitemap (a Google News sitemap: the freshest articles)",
    "sitemap index": "use kind: sitemap (the index's children are followed)",
    "listing": "use kind: listing (check article_links and next_page selectors)",
    "JSON API": "use kind: api with the api: block below",
    "JS-only page": ("the article text is written by JavaScript: it needs render: browser "
                     "(headless Chromium), or better the outlet's feed, sitemap or API"),
    "article page": "give the section page, feed or sitemap instead of one article",
}


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    ok: bool = False

    def value(self, name: str) -> str:
        """The text after ``name:`` on its first line in the report ('' if none)."""
        return next((ln.split(":", 1)[1].strip() for ln in self.lines
                     if ln.strip().startswith(name + ":")), "")

    def add(self, text: str = "") -> None:
        self.lines.append(text)


def _robots(fetcher: Fetcher, url: str, report: Report) -> list[str]:
    parts = urlsplit(url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    got = fetcher.get(robots_url)
    if got.error or got.status >= 400 or classify(got.status, got.headers, got.body):
        why = got.error or (f"HTTP {got.status}" if got.status >= 400 else "a challenge page")
        report.add(f"  robots.txt: none readable ({why}) — everything is allowed")
        return []
    text = got.body[:500_000].decode("utf-8", "replace")
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    fetcher.robots[parts.netloc] = parser
    allowed = parser.can_fetch(fetcher.headers["User-Agent"], url)
    sitemaps = robots_sitemaps(text)
    report.add(f"  robots.txt: {'allows' if allowed else 'DISALLOWS'} this URL"
               + (f"; declares {len(sitemaps)} sitemap(s)" if sitemaps else ""))
    return sitemaps


def _samples(fetcher: Fetcher, diag: Diagnosis, source: SourceConfig | None,
             report: Report, count: int = 3) -> list[str]:
    """Fetch and extract up to ``count`` of the newest items; the languages of those that
    worked (one entry per article)."""
    from crawler.extract import ExtractionError, extract_article
    from crawler.spiders.base import index_item_html
    items = [h for h in sorted(diag.items, key=lambda h: h.updated_at or h.published_at or "",
                               reverse=True) if not fetcher.disallowed(h.url)][:count]
    good: list[str] = []
    report.add("  sample articles:")
    for n, hint in enumerate(items, 1):
        if fetcher.disallowed(hint.url):
            report.add(f"    {n}. {display_url(hint.url)}: skipped (robots.txt disallows it)")
            continue
        got = fetcher.get(hint.url)
        blocked = classify(got.status, got.headers, got.body) if not got.error else None
        from_feed = False
        body, headers = got.body, got.headers
        if (got.error or blocked or got.status >= 400) and hint.content_html:
            body, headers, from_feed = index_item_html(hint), {"content-type": "text/html"}, True
        elif got.error or blocked or got.status >= 400:
            why = got.error or (f"blocked by {blocked.vendor}" if blocked else
                                f"HTTP {got.status}")
            report.add(f"    {n}. {display_url(hint.url)}: not extracted ({why})")
            continue
        try:
            art = extract_article(body, hint.url, timezone=source.timezone if source else "UTC",
                                  selectors={} if from_feed or source is None
                                  else source.selectors,
                                  headers=headers, hint=hint,
                                  languages=source.languages if source else ())
        except ExtractionError as exc:
            report.add(f"    {n}. {display_url(hint.url)}: not an article ({exc.reason}: {exc})")
            continue
        good.append(art.language or "und")
        first = re.split(r"(?<=[.!؟?])\s", " ".join(art.body.split()), maxsplit=1)[0][:160]
        report.add(f"    {n}. {art.title}")
        report.add(f"       {art.published_at or 'undated'} · {art.language or '?'} · "
                   f"{len(art.body)} chars" + (" · from the feed item (page not available)"
                                               if from_feed else ""))
        report.add(f"       {first}")
    return good


def _describe(diag: Diagnosis, report: Report) -> None:
    report.add(f"  kind: {diag.kind}" + (f" ({diag.detail})" if diag.detail else ""))
    if diag.items or diag.children:
        report.add(f"  items: {len(diag.items)}" + (f", child sitemaps: {len(diag.children)}"
                                                     if diag.children else "")
                   + f"; newest: {diag.newest or 'undated'}")


def _entry(found_kind: str, diag: Diagnosis, url: str, sid: str,
           languages: list[str]) -> list[str]:
    """A ready-to-paste sources.yaml entry (languages and timezone left for the person)."""
    kind = {"news sitemap": "sitemap", "sitemap index": "sitemap", "JSON API": "api"}.get(
        found_kind, found_kind)
    out = [f"  - id: {sid}", f"    kind: {kind}", f"    start_urls: [\"{url}\"]",
           f"    languages: [{', '.join(languages)}]      # as the sample articles read",
           "    timezone: UTC            # e.g. Asia/Baghdad, Asia/Damascus, Europe/Istanbul",
           "    verified: false", f"    notes: \"found by chavder sources doctor: {diag.kind}, "
           f"{len(diag.items)} items\""]
    if diag.api:
        inner = ", ".join(f"{k}: {v}" for k, v in diag.api.items())
        out.insert(3, f"    api: {{{inner}}}")
    if is_private_host(urlsplit(url).hostname or ""):
        out.insert(3, "    allow_private: true     # a loopback/private address")
    return out


def run_doctor(target: str, settings: Settings, sources: dict[str, SourceConfig], *,
               allow_private: bool = False, delay: float = 1.0) -> Report:
    """Diagnose a source id or a URL; the report's lines, and whether it works."""
    report = Report()
    source = sources.get(target)
    if source is None and not target.startswith(("http://", "https://")):
        report.add(f"error: {target!r} is neither a source id nor an http(s) URL — known ids: "
                   + ", ".join(sorted(sources)))
        return report
    fetcher = Fetcher(settings, source, allow_private, delay)
    url = source.start_urls[0] if source else target
    if source is not None and source.kind == "api":
        url = page_url(url, int(source.api.get("first_page", 1)))
    report.add(f"doctor: {source.id + ' — ' if source else ''}{url}")
    sitemaps = _robots(fetcher, url, report)
    got = fetcher.get(url)
    if got.error:
        report.add(f"  reachable: no — {got.error}")
        report.add("  verdict: unreachable")
        report.add("  next step: check the URL and the machine's network")
        return report
    report.add(f"  reachable: yes (HTTP {got.status}, {got.content_type or 'no type'}, "
               f"{len(got.body):,} bytes, {got.seconds * 1000:.0f} ms)")
    diag = diagnose(got, source=source)
    _describe(diag, report)
    bare = source is None and urlsplit(url).path in ("", "/") and not urlsplit(url).query
    if diag.kind == "challenge":
        vendor = diag.challenge.vendor if diag.challenge else "?"
        report.add(f"  verdict: blocked by {vendor} (an anti-bot challenge)")
        report.add(f"  next step: {diag.detail.split('not stored; ', 1)[-1]}")
        return report
    entry_url = url
    if bare:
        best = _discover(fetcher, url, diag, sitemaps, report)
        if best is None:
            report.add("  verdict: no feed, sitemap, API or listing found")
            report.add("  next step: find a section page, feed or sitemap by hand")
            return report
        report.add(f"  best candidate: {best.kind} {display_url(best.url)}")
        diag, entry_url = best, best.url
    kind = diag.kind
    diag = _descend(fetcher, diag, source, report)
    if not diag.usable:
        report.add(f"  verdict: does not work as a source ({diag.kind})")
        report.add(f"  next step: {NEXT_STEP.get(diag.kind, 'use the outlet feed, sitemap or API')}")
        return report
    langs = _samples(fetcher, diag, source, report) if diag.items else []
    good = len(langs)
    if good == 0:
        report.add("  verdict: the index works but no sample article could be extracted")
        report.add("  next step: check the article pages (selectors title/body; a challenge?)")
        return report
    report.ok = True
    report.add(f"  verdict: works — {len(diag.items)} items, {good} sample article(s) "
               "extracted")
    as_kind = {"news sitemap": "sitemap", "sitemap index": "sitemap", "JSON API": "api"}
    if source is not None and as_kind.get(kind, kind) != source.kind:
        report.add(f"  next step: {NEXT_STEP[kind]} (the source says kind: {source.kind})")
    elif source is not None:
        report.add(f"  next step: keep kind: {source.kind}; set verified: true")
    else:
        report.add(f"  next step: {NEXT_STEP[kind]}; sources.yaml entry:")
        report.lines += _entry(kind, diag, entry_url, _site_id(url),
                               sorted(set(langs) - {"und"}))
    return report


def _descend(fetcher: Fetcher, diag: Diagnosis, source: SourceConfig | None,
             report: Report) -> Diagnosis:
    """A sitemap index lists no articles itself: look into one child (a news sitemap first,
    else the newest-looking)."""
    if diag.kind != "sitemap index" or not diag.children:
        return diag
    children = sorted(diag.children, key=lambda u: ("news" not in u.lower(), u))
    got = fetcher.get(children[0])
    child = diagnose(got, source=source)
    report.add(f"  child sitemap {children[0]}: {child.kind}, {len(child.items)} items, "
               f"newest {child.newest or 'undated'}")
    return child if child.items else diag


def _site_id(url: str) -> str:
    """``www.rudaw.net`` → ``rudaw``; an address → ``site-127-0-0-1`` (a bare number would
    read as a YAML integer, not an id)."""
    host = (urlsplit(url).hostname or "site").removeprefix("www.")
    if parse_ip(host) is not None:
        return "site-" + re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")
    name = re.sub(r"[^a-z0-9]+", "-", host.split(".")[0].lower()).strip("-")
    return name if name and not name[0].isdigit() else f"site-{name}".rstrip("-")


def _discover(fetcher: Fetcher, base: str, home: Diagnosis, sitemaps: list[str],
              report: Report) -> Diagnosis | None:
    """A bare site: try what a person would (feeds the home page declares, common feed paths,
    robots.txt's sitemaps, common sitemap paths), report each, return the best."""
    root = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
    got_home = fetcher.last_body
    candidates = feed_links(got_home, base) + [root + p for p in COMMON_FEEDS]
    candidates += sitemaps + [root + p for p in COMMON_SITEMAPS]
    found: list[Diagnosis] = [home] if home.usable else []
    seen: set[str] = set()
    report.add("  candidates:")
    if home.usable:
        report.add(f"    {home.kind:<14} {display_url(home.url)}  ({len(home.items)} links)")
    for url in candidates:
        if url in seen or fetcher.requests >= MAX_REQUESTS - 4:
            continue
        seen.add(url)
        if fetcher.disallowed(url):
            continue
        got = fetcher.get(url)
        if got.error or got.status >= 400 or got.url in {d.url for d in found}:
            continue
        diag = diagnose(got)
        if diag.usable and diag.kind != "listing":
            found.append(diag)
            report.add(f"    {diag.kind:<14} {display_url(got.url)}  ({len(diag.items)} items"
                       + (f", {len(diag.children)} child sitemaps" if diag.children else "")
                       + f", newest {diag.newest or 'undated'})")
        elif diag.kind == "challenge" and diag.challenge is not None:
            report.add(f"    challenge      {display_url(got.url)}  ({diag.challenge.vendor})")
    if not found:
        report.add("    none found")
        return None
    rank = {"news sitemap": 0, "feed": 1, "JSON API": 2, "sitemap index": 3, "sitemap": 4,
            "listing": 9}
    return sorted(found, key=lambda d: (rank.get(d.kind, 8), -len(d.items)))[0]


def online_table(settings: Settings, sources: list[SourceConfig], delay: float = 1.0) -> tuple[
        list[str], bool]:
    """``sources check --online``: the doctor over every source, one row each."""
    rows = [("source", "kind", "found", "items", "newest", "verdict")]
    ok = True
    by_id = {s.id: s for s in sources}
    for source in sources:
        report = run_doctor(source.id, settings, by_id, delay=delay)
        ok = ok and report.ok
        found = report.value("kind").split(" (", 1)[0] or "-"
        items = report.value("items").split(";", 1)[0] or "0"
        newest = report.value("items").split("newest: ", 1)[-1] if "newest: " in \
            report.value("items") else "-"
        rows.append((source.id, source.kind, found, items, newest[:25],
                     report.value("verdict")[:70]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows], ok
