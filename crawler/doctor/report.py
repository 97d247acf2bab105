"""``run_doctor``: one source or one site looked at step by step — robots.txt, the URL itself,
for a bare site the candidates a person would try, a sitemap index's child, three sample
articles — each step written to the :class:`Report` as it is taken, ending in a verdict and the
next step (for a site, a ready-to-paste ``sources.yaml`` entry). ``online_table``: the doctor
over every source, one row each.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from crawler.addresses import is_private_host, parse_ip
from crawler.challenges import classify
from crawler.config import Settings, SourceConfig
from crawler.discovery.api import page_url
from crawler.doctor.diagnosis import Diagnosis, diagnose, feed_links, robots_sitemaps
from crawler.doctor.fetch import MAX_REQUESTS, Fetcher
from crawler.urls import display_url

COMMON_FEEDS = ("/feed/", "/rss", "/feed.rss", "/rss.xml", "/feed.xml", "/atom.xml")
COMMON_SITEMAPS = ("/sitemap.xml", "/news-sitemap.xml", "/sitemap_index.xml")

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
