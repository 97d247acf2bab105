"""Shared spider behaviour: index pages → article requests, skipping what the store knows.

Subclasses only implement ``parse_index`` for their kind. Spiders never parse article bodies:
they hand the raw response to the item pipelines as a ``RawPage``.
"""
from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Iterable, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (ConnectionRefusedError, DNSLookupError, TCPTimedOutError,
                                    TimeoutError)
from twisted.python.failure import Failure
from w3lib.url import safe_url_string

from crawler.addresses import host_in_domains, is_private_host, normalize_host
from crawler.backoff import doubling
from crawler.config import SourceConfig
from crawler.download import RefusedAddress
from crawler.urls import display_url, url_key
from crawler.text.dates import parse_iso
from crawler.items import LinkHint, RawPage
from crawler.rendering import render_meta
from crawler.blocking import ChallengeBlocked
from crawler.appref import app_of
from crawler.counters import count
from crawler.store.base import STORE_FAULT_PREFIX, utc_now_iso

logger = logging.getLogger("chavder.crawl")


def failure_reason(failure: Failure) -> str:
    """A short human reason for a failed request (used in logs, stats and the store)."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    name = type(exc).__name__          # Scrapy ≥ 2.13 wraps Twisted's errors in its own
    if isinstance(exc, DNSLookupError) or name == "CannotResolveHostError":
        return ("DNS lookup failed (no network, or the host name is wrong) — check the URL "
                "in sources.yaml and the machine's DNS")
    if isinstance(exc, (TimeoutError, TCPTimedOutError)) or "Timeout" in type(exc).__name__ \
            or "took longer than" in str(exc):
        return "timed out (no complete answer within the download timeout)"
    if "larger than download max size" in str(exc) or "larger than the max" in str(exc):
        return "body larger than the size limit — download abandoned"
    if "during decompression" in str(exc) and "DOWNLOAD_MAXSIZE" in str(exc):
        return ("body larger than the size limit once decompressed (a compression bomb?) — "
                "ignored; raise max_body_bytes if the page is genuine")
    if type(exc).__name__ == "DownloadCancelledError":
        # Scrapy cancels a transfer mid-body only when it passes DOWNLOAD_MAXSIZE.
        return ("body larger than the size limit (or never ending) — download abandoned; "
                "raise max_body_bytes if the page is genuine")
    if isinstance(exc, ConnectionRefusedError) or name == "DownloadConnectionRefusedError" \
            or "refused by other side" in str(exc):
        return "connection refused (the server is down or the port is wrong)"
    if name == "ResponseDataLossError":
        return "connection closed before the whole answer arrived (data loss)"
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:300]


def index_item_html(hint: LinkHint) -> bytes:
    """A minimal HTML page of an index item's headline and whole-article HTML (plain text
    bodies become paragraphs), for the ordinary extractor."""
    content = hint.content_html or ""
    if "<" not in content:
        content = "".join(f"<p>{html.escape(p.strip())}</p>"
                          for p in content.replace("\r", "").split("\n") if p.strip())
    title = html.escape(hint.title or "")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><article><h1>{title}</h1>{content}</article></body></html>").encode("utf-8")


class SourceSpider(scrapy.Spider):
    """Base for the per-kind spiders: ``scrapy crawl <kind> -a source=ID`` (or
    ``-a sources=ID,ID,...``). One spider may poll many sources of its kind in one crawl: the
    service batches due sources so that an idle cycle costs one crawler, not one per source."""

    kind = ""

    def __init__(self, source: str | None = None, sources: str | None = None,
                 *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        ids = [s.strip() for s in (sources or "").split(",") if s.strip()]
        if source:
            ids.insert(0, source)
        self.source_ids = list(dict.fromkeys(ids))
        self.sources_by_id: dict[str, SourceConfig] = {}
        self._validators: dict[str, dict[str, tuple[str | None, str | None]]] = {}
        self._incomplete: set[str] = set()  # sources that left links for a later crawl

    @property
    def source_id(self) -> str | None:
        return self.source_ids[0] if self.source_ids else None

    @property
    def source(self) -> SourceConfig | None:
        """The source when the spider polls exactly one (tools and tests)."""
        return next(iter(self.sources_by_id.values())) if len(self.sources_by_id) == 1 else None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "SourceSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        app = app_of(crawler)
        sources = app.sources_by_id
        if not spider.source_ids:
            raise ValueError(f"spider '{cls.name}' needs a source: scrapy crawl {cls.name} "
                             f"-a source=ID (ids: {', '.join(sorted(sources))})")
        for sid in spider.source_ids:
            source = sources.get(sid)
            if source is None:
                raise ValueError(f"unknown source '{sid}' — known: "
                                 + ", ".join(sorted(sources)))
            if source.kind != cls.kind:
                raise ValueError(f"source '{source.id}' is of kind '{source.kind}'; run it "
                                 f"with the '{source.kind}' spider")
            spider.sources_by_id[sid] = source
        spider.store = app.store
        spider.article_retry_seconds = app.settings.article_retry_seconds
        spider.allowed_domains = sorted({d for s in spider.sources_by_id.values()
                                         for d in s.allowed_domains})
        crawler.signals.connect(spider._on_closed, signal=scrapy.signals.spider_closed)
        crawler.signals.connect(spider._on_dropped, signal=scrapy.signals.request_dropped)
        return spider

    def source_of(self, request_or_response: Any) -> SourceConfig:
        sid = request_or_response.meta.get("source") or self.source_ids[0]
        return self.sources_by_id[sid]

    # ------------------------------------------------------------------ requests
    async def start(self) -> AsyncIterator[Any]:
        for source in self.sources_by_id.values():
            for url in source.start_urls:
                yield self.index_request(url, source=source.id)

    def index_request(self, url: str, **meta: Any) -> scrapy.Request:
        """A request for a feed/sitemap/listing page, made conditional on stored validators.
        ``meta`` must carry ``source``."""
        render = render_meta(self.sources_by_id[meta["source"]], index=True)
        return scrapy.Request(safe_url_string(url), callback=self._index_response,
                              errback=self.on_error, dont_filter=True,
                              meta={"conditional": True, "handle_httpstatus_list": [304],
                                    **render, **meta})

    def _index_response(self, response: Response) -> Iterator[Any]:
        source = self.source_of(response)
        count(self.crawler, source.id, "index_pages")
        if response.status == 304:
            count(self.crawler, source.id, "not_modified")
            return
        etag = response.headers.get(b"ETag")
        last_modified = response.headers.get(b"Last-Modified")
        if etag or last_modified:
            self._validators.setdefault(source.id, {})[response.request.url] = (
                etag.decode("latin-1") if etag else None,
                last_modified.decode("latin-1") if last_modified else None)
        yield from self.parse_index(response, source)

    def parse_index(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        raise NotImplementedError

    def follow_articles(self, hints: list[LinkHint],
                        source: SourceConfig) -> Iterator[scrapy.Request]:
        """Requests for the articles that are new or signalled as modified, newest first."""
        count(self.crawler, source.id, "links", len(hints))
        by_key: dict[str, LinkHint] = {}
        for hint in hints:
            if self._refused_link(hint.url, source):
                continue
            key = url_key(hint.url)
            if key not in by_key:
                by_key[key] = hint
        known = self.store.known(by_key)
        wanted: list[tuple[str, LinkHint]] = []
        for key, hint in by_key.items():
            stored = known.get(key)
            if stored is not None and not self._signals_newer(hint, stored):
                count(self.crawler, source.id, "skipped_known")
                continue
            wanted.append((key, hint))
        wanted = self._without_backed_off(wanted, source)
        wanted.sort(key=lambda kh: parse_iso(kh[1].updated_at or kh[1].published_at)
                    or datetime.min.replace(tzinfo=timezone.utc), reverse=True)
        if len(wanted) > source.max_articles:
            # Articles past the cap must be seen again next time: keep the index uncached.
            self._incomplete.add(source.id)
        for key, hint in wanted[: source.max_articles]:
            yield scrapy.Request(safe_url_string(hint.url), callback=self.parse_article,
                                 errback=self.on_error,
                                 meta={"hint": hint, "url_key": key, "source": source.id,
                                       **render_meta(source, index=False)})

    def _without_backed_off(self, wanted: list[tuple[str, LinkHint]],
                            source: SourceConfig) -> list[tuple[str, LinkHint]]:
        """Drop articles that failed recently: the n-th consecutive failure waits
        ``article_retry_seconds × 2^(n-1)`` (at most a day) before the next request, so a dead
        or never-storable link costs a request now and then, not on every poll. The source's
        index is then not marked as read, so the article is retried when its time comes."""
        base = self.article_retry_seconds
        if base <= 0 or not wanted:
            return wanted
        now = datetime.now(timezone.utc)
        since = (now - timedelta(days=7)).isoformat()
        urls = {hint.url: safe_url_string(hint.url) for _, hint in wanted}
        failures = self.store.recent_failures(set(urls) | set(urls.values()), since,
                                              STORE_FAULT_PREFIX)
        if not failures:
            return wanted
        kept: list[tuple[str, LinkHint]] = []
        for key, hint in wanted:
            n, last = max(failures.get(hint.url, (0, "")), failures.get(urls[hint.url], (0, "")))
            wait = doubling(base, n, 86_400.0)
            last_at = parse_iso(last) if n else None
            if last_at is not None and now < last_at + timedelta(seconds=wait):
                count(self.crawler, source.id, "backed_off")
                self._incomplete.add(source.id)
                continue
            kept.append((key, hint))
        return kept

    def _refused_link(self, url: str, source: SourceConfig) -> bool:
        """A link to a private IP literal the source does not allow: reported once here, before
        any request exists. (Names resolving to private addresses are refused at connect time.)"""
        host = urlsplit(url).hostname or ""
        if not is_private_host(host) or (source.allow_private
                                         and host_in_domains(host, source.allowed_domains)):
            return False
        self.report_problem(url, f"refused: link to private address {normalize_host(host)} "
                                 "(not allowed for this source)", source_id=source.id)
        return True

    def mark_incomplete(self, source_id: str) -> None:
        """Do not save this source's index validators at the end of the crawl."""
        self._incomplete.add(source_id)

    @staticmethod
    def _signals_newer(hint: LinkHint, stored: Any) -> bool:
        signalled = parse_iso(hint.updated_at)
        if signalled is None:
            return False
        seen = parse_iso(stored.index_updated_at) or parse_iso(stored.fetched_at)
        return seen is None or signalled > seen

    def parse_article(self, response: Response) -> Iterator[RawPage]:
        source = self.source_of(response)
        count(self.crawler, source.id, "fetched")
        yield RawPage(
            source=source.id, url=response.url, requested_url=response.request.url,
            url_key=response.meta["url_key"], body=response.body,
            headers={k.decode("latin-1").lower(): b",".join(v).decode("latin-1")
                     for k, v in response.headers.items()},
            status=response.status, fetched_at=utc_now_iso(), hint=response.meta.get("hint"))

    def page_from_index(self, request: scrapy.Request, why: str) -> Iterator[RawPage]:
        """The article the index item carried (feed ``content:encoded``/Atom content/long
        description, an API body), stored in place of a page that could not be had. Marked
        ``extracted_from: feed``; nothing when the item held only a teaser."""
        hint: LinkHint | None = request.meta.get("hint")
        if hint is None or not hint.content_html or "url_key" not in request.meta:
            return
        source = self.source_of(request)
        logger.info("source=%s url=%s storing the index item's full text instead (%s)",
                    source.id, display_url(hint.url), why)
        count(self.crawler, source.id, "from_feed")
        yield RawPage(source=source.id, url=hint.url, requested_url=hint.url,
                      url_key=request.meta["url_key"], body=index_item_html(hint),
                      headers={"content-type": "text/html; charset=utf-8"}, status=200,
                      fetched_at=utc_now_iso(), hint=hint, extracted_from="feed")

    # ------------------------------------------------------------------ errors and closing
    def on_error(self, failure: Failure) -> Iterator[RawPage]:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if request is not None and request.meta.get("redirect_urls"):
            url = request.meta["redirect_urls"][0]   # the link the crawl followed, not a hop
        source = self.source_of(request) if request is not None else None
        reason = failure_reason(failure)
        if isinstance(failure.value, ChallengeBlocked) and failure.value.quiet:
            sid = source.id if source else self.source_ids[0]
            count(self.crawler, sid, "blocked")
            if request is not None and "url_key" in request.meta:
                logger.debug("source=%s url=%s skipped: %s", sid, display_url(url), reason)
                self.mark_incomplete(sid)
                yield from self.page_from_index(request, "the site challenges this crawler")
            else:   # an index page: the source yields nothing from it, say so
                self.report_problem(url, reason, source_id=sid)
            return
        if reason == "Forbidden by robots.txt":
            # Politeness working as intended: a skip, not an error.
            sid = source.id if source else self.source_ids[0]
            logger.info("source=%s url=%s skipped: robots.txt disallows it", sid,
                        display_url(url))
            count(self.crawler, sid, "robots_forbidden")
            return
        if getattr(failure.value, "quiet", False):
            # An article link to another site: Scrapy's offsite filter always skipped these.
            sid = source.id if source else self.source_ids[0]
            logger.debug("source=%s url=%s skipped: %s", sid, display_url(url), reason)
            count(self.crawler, sid, "offsite")
            return
        if source is not None and request is not None and "url_key" in request.meta:
            self.mark_incomplete(source.id)   # an article failed: no 304 may hide it next time
        if isinstance(failure.value, ChallengeBlocked):
            count(self.crawler, source.id if source else self.source_ids[0], "blocked")
        self.report_problem(url, reason, source_id=source.id if source else None)
        if request is not None and not isinstance(failure.value, RefusedAddress):
            yield from self.page_from_index(request, reason.split(" — ")[0])

    def report_problem(self, url: str, reason: str, level: int = logging.WARNING,
                       source_id: str | None = None) -> None:
        """One log line naming source, URL and reason; counted and kept in the store."""
        sid = source_id or self.source_ids[0]
        logger.log(level, "source=%s url=%s reason=%s", sid, display_url(url), reason)
        count(self.crawler, sid, "errors")
        self.store.record_fetch_error(sid, url, reason)

    def _on_dropped(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        if spider is self and request.meta.get("redirect_urls"):
            self.report_problem(request.meta["redirect_urls"][0],
                                f"redirect loop: redirects back to {request.url}",
                                source_id=self.source_of(request).id)

    def _on_closed(self, spider: scrapy.Spider, reason: str) -> None:
        if spider is not self:
            return
        # Only a cleanly finished crawl may remember validators (see ConditionalGetMiddleware).
        if reason != "finished":
            return
        for sid, validators in self._validators.items():
            if sid in self._incomplete:
                continue
            try:
                for url, (etag, last_modified) in validators.items():
                    self.store.save_http_validators(url, etag, last_modified)
            except Exception as exc:  # noqa: BLE001 - without them the next poll is a full GET
                logger.error("source=%s could not save the index validators (%s: %s); the "
                             "next crawl reads the index in full", sid, type(exc).__name__, exc)
