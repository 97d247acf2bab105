"""Sitemaps → :class:`LinkHint`: index files, urlsets with Google News and image extensions,
plain-text sitemaps, and feeds submitted as sitemaps (all three are allowed by the protocol).

URLs are not filtered by domain here: sitemap indexes legitimately point at CDN hosts, and the
spider's offsite rules decide what is fetched.
"""
from __future__ import annotations

from datetime import tzinfo

from lxml import etree

from crawler.discovery.feeds import read_feed
from crawler.discovery.results import ProblemLog, SitemapResult
from crawler.discovery.safexml import (MAX_DECOMPRESSED_BYTES, PreparedXML, iter_events,
                                       local_name, prepare, release,
                                       salvage_entries)
from crawler.urls import clean_url, is_absolute_http
from crawler.discovery.values import clean_text, language
from crawler.discovery.xmlfields import first_field, index_children, text_of
from crawler.models import LinkHint
from crawler.text.dates import to_iso, zone


class _Counts:
    """Per-document tallies turned into one problem line each (not one per URL)."""

    def __init__(self) -> None:
        self.no_loc = 0
        self.bad_loc: list[str] = []
        self.relative = 0
        self.bad_dates: list[str] = []

    def report(self, problems: ProblemLog) -> None:
        if self.no_loc:
            problems.add(f"{self.no_loc} entries without <loc> skipped")
        if self.bad_loc:
            problems.add(f"{len(self.bad_loc)} <loc> values not usable http(s) URLs skipped, "
                         f"e.g. {self.bad_loc[0]!r}")
        if self.relative:
            problems.add(f"{self.relative} relative <loc> values resolved against the sitemap URL")
        if self.bad_dates:
            problems.add(f"{len(self.bad_dates)} dates not understood, e.g. {self.bad_dates[0]!r}")


def _date(element: etree._Element | None, tz: tzinfo, counts: _Counts) -> str | None:
    text = text_of(element)
    if not text:
        return None
    value = to_iso(text, tz)
    if value is None:
        counts.bad_dates.append(text[:60])
    return value or None


def _entry(element: etree._Element, base_url: str, tz: tzinfo,
           counts: _Counts) -> LinkHint | None:
    f = index_children(element)
    loc = text_of(first_field(f, ("", "loc")))
    if not loc:
        counts.no_loc += 1
        return None
    url = clean_url(loc, base_url)
    if url is None:
        counts.bad_loc.append(loc[:80])
        return None
    if not is_absolute_http(loc):
        counts.relative += 1
    hint = LinkHint(url=url, updated_at=_date(first_field(f, ("", "lastmod")), tz, counts))
    for news in f.get(("news", "news"), ()):
        nf = index_children(news)
        hint.published_at = _date(first_field(nf, ("news", "publication_date")), tz, counts)
        hint.title = text_of(first_field(nf, ("news", "title")))
        for publication in nf.get(("news", "publication"), ()):
            hint.language = language(text_of(first_field(index_children(publication),
                                                         ("news", "language"))))
        keywords = text_of(first_field(nf, ("news", "keywords"))) or ""
        hint.tags = [k for k in (clean_text(part) for part in keywords.split(",")) if k]
        break
    for image in f.get(("image", "image"), ()):
        hint.image_url = clean_url(text_of(first_field(index_children(image), ("image", "loc"))),
                                   base_url)
        if hint.image_url:
            break
    if hint.image_url is None:
        for video in f.get(("video", "video"), ()):
            thumb = first_field(index_children(video), ("video", "thumbnail_loc"))
            hint.image_url = clean_url(text_of(thumb), base_url)
            if hint.image_url:
                break
    return hint


_SITEMAP_TAGS = ("{*}urlset", "{*}sitemapindex", "{*}url", "{*}sitemap")


def _read_xml(prepared: PreparedXML, base_url: str, tz: tzinfo, max_urls: int,
              problems: ProblemLog) -> SitemapResult:
    result = SitemapResult(kind=(prepared.root_local or "").lower(), truncated=prepared.capped)
    counts = _Counts()
    current: etree._Element | None = None
    seen: set[str] = set()
    count = 0
    for event, el in iter_events(prepared, problems, _SITEMAP_TAGS):
        if event == "start":
            if current is None and local_name(el.tag) in ("url", "sitemap") and el.getparent() is not None:
                if count >= max_urls:
                    result.truncated = True
                    problems.add(f"more than {max_urls} URLs: stopped at max_urls")
                    break
                current = el
            continue
        if el is not current:
            continue
        count += 1
        hint = _entry(el, base_url, tz, counts)
        if hint is not None and hint.url not in seen:
            seen.add(hint.url)
            target = result.sitemaps if local_name(el.tag) == "sitemap" else result.urls
            target.append(hint)
        release(el)
        current = None
    if prepared.errors and not result.truncated:
        _salvage(prepared, base_url, tz, max_urls, result, problems)
    counts.report(problems)
    result.problems = problems.as_list()
    return result


def _salvage(prepared: PreparedXML, base_url: str, tz: tzinfo, max_urls: int,
             result: SitemapResult, problems: ProblemLog) -> None:
    """After XML errors, re-read each ``<url>``/``<sitemap>`` on its own (see
    :func:`salvage_entries`); keep that reading when it found more entries."""
    counts = _Counts()    # the single pass already counted what it saw
    urls: list[LinkHint] = []
    sitemaps: list[LinkHint] = []
    seen: set[str] = set()
    for el in salvage_entries(prepared, ("urlset", "sitemapindex"), ("url", "sitemap"), max_urls):
        hint = _entry(el, base_url, tz, counts)
        if hint is not None and hint.url not in seen:
            seen.add(hint.url)
            (sitemaps if local_name(el.tag) == "sitemap" else urls).append(hint)
    found, kept = len(urls) + len(sitemaps), len(result.urls) + len(result.sitemaps)
    if found > kept:
        problems.add(f"XML errors: re-read the {found} entries one by one "
                     f"(a single pass kept {kept})")
        result.urls, result.sitemaps = urls, sitemaps


def _read_text(data: bytes, base_url: str, max_urls: int, problems: ProblemLog) -> SitemapResult:
    """One URL per line (the protocol's text format); anything else is reported, not guessed."""
    result = SitemapResult(kind="text")
    if b"\x00" in data[:4096]:
        problems.add("not a sitemap: binary content")
        result.problems = problems.as_list()
        return result
    seen: set[str] = set()
    bad: list[str] = []
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line:
            continue
        url = clean_url(line, base_url) if is_absolute_http(line) else None
        if url is None:
            bad.append(line[:80])
            continue
        if url in seen:
            continue
        if len(result.urls) >= max_urls:
            result.truncated = True
            problems.add(f"more than {max_urls} URLs: stopped at max_urls")
            break
        seen.add(url)
        result.urls.append(LinkHint(url=url))
    if bad:
        problems.add(f"{len(bad)} lines are not absolute http(s) URLs, e.g. {bad[0]!r}")
    if not result.urls:
        problems.add("not a sitemap: neither XML nor a list of URLs")
    result.problems = problems.as_list()
    return result


def parse_sitemap(body: bytes, base_url: str, *, timezone: str = "UTC", max_urls: int = 50000,
                  max_bytes: int = MAX_DECOMPRESSED_BYTES) -> SitemapResult:
    """Parse a sitemap (optionally gzip-compressed, magic bytes sniffed) fetched from ``base_url``.

    ``sitemaps`` are child sitemaps of an index (``updated_at`` = lastmod); ``urls`` are pages
    with lastmod, Google News publication date/title/language/keywords and the first image.
    Raises :class:`~crawler.discovery.UnsafeXMLError` on hostile DTDs, ``ValueError`` on an
    unknown ``timezone``; everything else is reported in ``problems``."""
    tz = zone(timezone)
    problems = ProblemLog()
    if not body or not body.strip():
        return SitemapResult(problems=["empty body"])
    prepared = prepare(body, problems, max_bytes)
    root = (prepared.root_local or "").lower()
    if prepared.looks_like_html:
        problems.add("not a sitemap: looks like HTML")
        return SitemapResult(problems=problems.as_list(), truncated=prepared.capped)
    if not root:
        result = _read_text(prepared.raw, base_url, max_urls, problems)
        result.truncated = result.truncated or prepared.capped
        return result
    if root in ("rss", "rdf", "feed"):
        feed = read_feed(prepared, base_url, tz, max_urls, problems)
        return SitemapResult(urls=feed.entries, problems=feed.problems, truncated=feed.truncated,
                             kind="feed")
    if root not in ("urlset", "sitemapindex"):
        problems.add(f"not a sitemap: root element <{prepared.prolog.root_name}>")
        return SitemapResult(problems=problems.as_list(), truncated=prepared.capped)
    return _read_xml(prepared, base_url, tz, max_urls, problems)
