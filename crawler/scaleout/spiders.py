"""The worker's spiders: the ordinary per-kind spiders, with the frontier in between.

* An **index crawl** (one job = one source) runs the source's own spider class
  (feed/sitemap/listing/api) with :class:`FrontierDiscovery` mixed in: the index pages are read
  exactly as in one process — known URLs skipped, back-off, newest first, ``max_articles`` —
  but the article requests it would make are put on the frontier instead, for any worker to
  fetch. When the index crawl is over, the job's entry is acknowledged together with the index
  validators, which are kept only once every article of the job is in (the same rule as in one
  process: no 304 may hide an article that was not stored).
* The **article fetcher** (:class:`FrontierArticles`, one long-lived crawler per worker) turns
  article entries back into the requests the ordinary spider makes, and acknowledges each entry
  once its page went through the pipelines (stored, or failed for good) — never before, so a
  worker killed mid-article leaves the entry for another worker.

The worker (:mod:`crawler.scaleout.worker`) is reached through ``crawler.chavder_worker``.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, AsyncIterator, Iterator

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider

from crawler.appref import app_of
from crawler.items import LinkHint
from crawler.rendering import render_meta
from crawler.scaleout.frontier import Entry
from crawler.settings import EXTENSIONS
from crawler.spiders import SPIDERS_BY_KIND
from crawler.spiders.base import SourceSpider

log = logging.getLogger("chavder.scaleout")

FRONTIER_META = "chavder_frontier"   # request meta: the frontier entry a request came from


def worker_of(crawler: Crawler) -> Any:
    return crawler.chavder_worker  # type: ignore[attr-defined]


class FrontierDiscovery:
    """Mixed into a kind's spider: article requests go to the frontier, not to this crawler.
    Spider arguments: ``sources`` (one id), ``frontier_entry`` (the job's :class:`Entry`)."""

    frontier_entry: Entry
    crawler: Crawler

    def follow_articles(self, hints: list[LinkHint], source: Any) -> Iterator[Any]:
        articles = []
        for request in super().follow_articles(hints, source):  # type: ignore[misc]
            hint = request.meta.get("hint")
            articles.append((request.meta["url_key"], {
                "url": request.url, "source": source.id,
                "hint": _compact(hint)}))
        if articles:
            worker_of(self.crawler).enqueue(self.frontier_entry, articles)
        yield from ()

    def _on_closed(self, spider: Any, reason: str) -> None:
        if spider is not self:
            return
        worker = worker_of(self.crawler)
        if reason != "finished":     # stopped: the job stays pending for another worker
            worker.discovery_stopped(self.frontier_entry, reason)
            return
        sid = self.frontier_entry.source
        incomplete = sid in self._incomplete   # type: ignore[attr-defined]
        validators = {url: [etag, modified] for url, (etag, modified)
                      in self._validators.get(sid, {}).items()}  # type: ignore[attr-defined]
        worker.discovery_done(self.frontier_entry, incomplete=incomplete,
                              validators=validators)


def _compact(hint: LinkHint | None) -> dict | None:
    """A hint as the frontier keeps it: only the fields the index gave (a queued URL costs
    Redis memory; ``LinkHint(**fields)`` restores the defaults)."""
    if hint is None:
        return None
    return {k: v for k, v in dataclasses.asdict(hint).items() if v not in (None, "", [])}


_DISCOVERY: dict[str, type] = {}


def discovery_spider(kind: str) -> type:
    """The index-crawl spider class of a source kind (made once per kind)."""
    if kind not in _DISCOVERY:
        base = SPIDERS_BY_KIND[kind]
        _DISCOVERY[kind] = type(f"Frontier{base.__name__}", (FrontierDiscovery, base),
                                {"__doc__": f"{base.__name__} on the frontier."})
    return _DISCOVERY[kind]


class FrontierArticles(SourceSpider):
    """Fetches the article entries the worker hands it (:meth:`fetch`) and never closes on its
    own: an idle worker waits for the next entries."""

    name = "frontier"
    kind = ""
    #: no crawl-run record per source at exit: a worker's article crawler is not one source's
    #: crawl (the index crawls record theirs)
    custom_settings = {"EXTENSIONS": {**EXTENSIONS, "crawler.extensions.CrawlReport": None}}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "FrontierArticles":
        spider = scrapy.Spider.from_crawler.__func__(cls, crawler, *args, **kwargs)  # type: ignore[attr-defined]
        app = app_of(crawler)
        spider.sources_by_id = dict(app.sources_by_id)
        spider.store = app.store
        spider.article_retry_seconds = app.settings.article_retry_seconds
        spider.allowed_domains = sorted({d for s in spider.sources_by_id.values()
                                         for d in s.allowed_domains})
        spider._jobs_of_source = {}
        worker_of(crawler).articles = spider
        crawler.signals.connect(spider._on_dropped, signal=signals.request_dropped)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._item_done, signal=signal)
        crawler.signals.connect(spider._callback_failed, signal=signals.spider_error)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        return
        yield   # pragma: no cover - an async generator with nothing to start with

    def fetch(self, entry: Entry) -> None:
        """Crawl one article entry as the ordinary spider would have requested it."""
        data = entry.data or {}
        source = self.sources_by_id.get(data.get("source", ""))
        if source is None:   # a source removed from sources.yaml since it was queued
            log.info("url=%s skipped: source %r is no longer configured", data.get("url"),
                     data.get("source"))
            worker_of(self.crawler).done(entry)
            return
        self._jobs_of_source[source.id] = entry.job
        hint = LinkHint(**data["hint"]) if data.get("hint") else None
        request = scrapy.Request(data["url"], callback=self.parse_article, errback=self.on_error,
                                 dont_filter=True,
                                 meta={"hint": hint, "url_key": entry.key, "source": source.id,
                                       FRONTIER_META: entry, **render_meta(source, index=False)})
        self.crawler.engine.crawl(request)

    def mark_incomplete(self, source_id: str) -> None:
        job = self._jobs_of_source.get(source_id)
        if job:
            worker_of(self.crawler).mark_incomplete(job)

    def on_error(self, failure: Any) -> Iterator[Any]:
        items = list(super().on_error(failure))
        yield from items
        request = getattr(failure, "request", None)
        if not items and request is not None:   # nothing goes to the pipelines: done now
            self._finish(request)

    def _finish(self, request: Any) -> None:
        entry = request.meta.get(FRONTIER_META)
        if entry is not None:
            worker_of(self.crawler).done(entry)

    def _item_done(self, item: Any = None, response: Any = None, spider: Any = None,
                   **_: Any) -> None:
        request = getattr(response, "request", None)
        if request is not None:
            self._finish(request)

    def _callback_failed(self, failure: Any, response: Any, spider: Any) -> None:
        request = getattr(response, "request", None)
        if request is not None:
            self._finish(request)

    def _on_dropped(self, request: Any, spider: Any) -> None:
        super()._on_dropped(request, spider)
        if spider is self:
            self._finish(request)

    def _idle(self, spider: Any) -> None:
        if spider is self and not worker_of(self.crawler).stopping:
            raise DontCloseSpider("waiting for the frontier")
